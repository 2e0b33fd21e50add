/**
 * One log format: the agent and the control plane write the same JSON shape, accept the same
 * levels and redact the same secrets, because both build pino from `logOptions` in
 * @stepgate/protocol. Each test fails if one side drifts (another shape, a level one refuses,
 * a secret one writes).
 */
import { describe, expect, it } from 'vitest';
import { loadConfig as loadAgentConfig } from '../../apps/agent/src/config.js';
import { createLogger as createAgentLogger } from '../../apps/agent/src/logger.js';
import { loadConfig as loadControlPlaneConfig } from '../../apps/control-plane/src/config/configuration.js';
import { createLogger as createControlPlaneLogger } from '../../apps/control-plane/src/logging/logger.js';
import { LOG_LEVELS } from '@stepgate/protocol';

type Line = Record<string, unknown>;

function capture(): { lines: Line[]; write(text: string): void } {
  const lines: Line[] = [];
  return { lines, write: (text) => lines.push(JSON.parse(text) as Line) };
}

const SECRETS = {
  token: 'tok-1',
  password: 'pw-1',
  secret: 'sec-1',
  privateKey: 'pk-1',
  authorization: 'Bearer b-1',
  cookie: 'c-1',
  headers: { authorization: 'Bearer b-2', cookie: 'c-2', 'set-cookie': 'c-3' },
  request: { token: 'tok-2', headers: { authorization: 'Bearer b-3' } },
};

/** One warning with secrets in its fields, through each app's logger. */
function logBoth(): { agent: Line; controlPlane: Line } {
  const agentOut = capture();
  const cpOut = capture();
  createAgentLogger('info', agentOut).warn({ ...SECRETS, agentId: 'a1' }, 'something happened');
  createControlPlaneLogger('info', cpOut).warn({ ...SECRETS, agentId: 'a1' }, 'something happened');
  const [agent] = agentOut.lines;
  const [controlPlane] = cpOut.lines;
  if (!agent || !controlPlane) throw new Error('a logger wrote nothing');
  return { agent, controlPlane };
}

describe('one log format', () => {
  it('writes the same shape: numeric level, epoch time, service, msg, then the fields', () => {
    const { agent, controlPlane } = logBoth();
    expect(Object.keys(agent)).toEqual(Object.keys(controlPlane));
    for (const line of [agent, controlPlane]) {
      expect(line).toMatchObject({ level: 40, msg: 'something happened', agentId: 'a1' });
      expect(typeof line.time).toBe('number');
    }
    expect(agent.service).toBe('stepgate-agent');
    expect(controlPlane.service).toBe('stepgate-control-plane');
  });

  it('redacts the same secrets in both', () => {
    const { agent, controlPlane } = logBoth();
    const { service: _a, time: _t1, ...agentRest } = agent;
    const { service: _c, time: _t2, ...controlPlaneRest } = controlPlane;
    expect(agentRest).toEqual(controlPlaneRest);
    const text = JSON.stringify(agent);
    for (const value of [
      'tok-1',
      'tok-2',
      'pw-1',
      'sec-1',
      'pk-1',
      'b-1',
      'b-2',
      'b-3',
      'c-1',
      'c-2',
      'c-3',
    ])
      expect(text, value).not.toContain(value);
    expect(agent.token).toBe('[redacted]');
  });

  it('accepts the same levels in both, trace included', () => {
    for (const level of LOG_LEVELS) {
      expect(
        loadAgentConfig({ STEPGATE_AGENT_TOKEN: 't', STEPGATE_LOG_LEVEL: level }, []).logLevel,
      ).toBe(level);
      expect(loadControlPlaneConfig({ STEPGATE_LOG_LEVEL: level }).logLevel).toBe(level);
    }
    expect(LOG_LEVELS).toContain('trace');
    expect(() =>
      loadAgentConfig({ STEPGATE_AGENT_TOKEN: 't', STEPGATE_LOG_LEVEL: 'verbose' }, []),
    ).toThrow(/STEPGATE_LOG_LEVEL must be one of trace, debug, info, warn, error, fatal, silent/);
    expect(() => loadControlPlaneConfig({ STEPGATE_LOG_LEVEL: 'verbose' })).toThrow(
      /STEPGATE_LOG_LEVEL/,
    );
  });

  it('writes debug lines at trace level in the agent', () => {
    const out = capture();
    createAgentLogger('trace', out).debug({ step: 1 }, 'detail');
    expect(out.lines).toEqual([expect.objectContaining({ level: 20, msg: 'detail' })]);
  });
});
