import { createStyle, type Style } from './style.js';
import type { Environment } from '../config/connection.js';

/**
 * Whether to colour a stream: `NO_COLOR` (any non-empty value, https://no-color.org) turns it
 * off; `FORCE_COLOR` 0 (or `false`) turns it off and 1-3 (or `true`/empty) on, even without a
 * terminal; otherwise only a terminal gets colour. NO_COLOR wins over FORCE_COLOR: it is the
 * user's standing wish, FORCE_COLOR is usually set by a tool around them.
 */
export function colourEnabled(env: Environment, isTty: boolean): boolean {
  if ((env.NO_COLOR ?? '') !== '') return false;
  const force = env.FORCE_COLOR;
  if (force !== undefined) {
    const value = force.trim().toLowerCase();
    if (value === '0' || value === 'false') return false;
    if (value === '' || value === 'true' || /^[1-3]$/.test(value)) return true;
  }
  return isTty;
}

/** The style for stdout of this process. */
export function stdoutStyle(env: Environment = process.env): Style {
  return createStyle(colourEnabled(env, process.stdout.isTTY === true));
}

/** A decision effect in its colour: allow green, deny red, step_up yellow. */
export function colourEffect(style: Style, effect: string): string {
  switch (effect) {
    case 'allow':
      return style.green(effect);
    case 'deny':
      return style.red(effect);
    case 'step_up':
      return style.yellow(effect);
    default:
      return effect;
  }
}

/** A health word in its colour: good green, bad red, anything in between yellow. */
export function colourStatus(style: Style, text: string, good: boolean | 'warn'): string {
  if (good === 'warn') return style.yellow(text);
  return good ? style.green(text) : style.red(text);
}
