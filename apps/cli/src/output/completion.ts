import type { Command, Option } from 'commander';

export const COMPLETION_SHELLS = ['bash', 'zsh', 'fish'] as const;
export type CompletionShell = (typeof COMPLETION_SHELLS)[number];

/** One option as completion needs it. */
interface OptionSpec {
  names: string[];
  description: string;
  takesValue: boolean;
  choices: readonly string[];
}

/** One command of the tree; `key` is its path from the program: `stepgate tokens create`. */
interface CommandSpec {
  key: string;
  name: string;
  description: string;
  options: OptionSpec[];
  subcommands: CommandSpec[];
  /** The fixed values of its first argument (`completion <shell>`: bash, zsh, fish). */
  argumentChoices: readonly string[];
}

/**
 * The command tree read from the commander program itself (never a hand-kept list, so the
 * scripts cannot drift from the commands): every command, its options and their choices.
 */
export function commandTree(command: Command, parentKey?: string): CommandSpec {
  const key = parentKey === undefined ? command.name() : `${parentKey} ${command.name()}`;
  const options: OptionSpec[] = command.options
    .filter((option: Option) => !option.hidden)
    .map((option: Option) => ({
      names: [option.long, option.short].filter((name): name is string => name !== undefined),
      description: option.description,
      takesValue: option.required || option.optional,
      choices: option.argChoices ?? [],
    }));
  options.push({
    names: ['--help', '-h'],
    description: 'show help',
    takesValue: false,
    choices: [],
  });
  return {
    key,
    name: command.name(),
    description: command.description().split('\n')[0] ?? '',
    options,
    subcommands: command.commands.map((sub) => commandTree(sub, key)),
    argumentChoices: command.registeredArguments[0]?.argChoices ?? [],
  };
}

function allCommands(root: CommandSpec): CommandSpec[] {
  return [root, ...root.subcommands.flatMap(allCommands)];
}

/** A POSIX single-quoted word. */
const quote = (text: string): string => `'${text.replace(/'/g, `'\\''`)}'`;
const oneLine = (text: string): string => text.replace(/\s+/g, ' ').trim();

function valueOptions(command: CommandSpec): string[] {
  return command.options.filter((o) => o.takesValue).flatMap((o) => o.names);
}

/** `case` arms shared by bash and zsh: one arm per command key. */
function caseFunction(
  name: string,
  commands: readonly CommandSpec[],
  body: (command: CommandSpec) => string | undefined,
): string {
  const arms = commands
    .map((command) => {
      const value = body(command);
      return value === undefined ? undefined : `    ${quote(command.key)}) ${value} ;;`;
    })
    .filter((arm) => arm !== undefined);
  return [`${name}() {`, '  case "$1" in', ...arms, '  esac', '}'].join('\n');
}

function choicesFunction(name: string, commands: readonly CommandSpec[], printer: string): string {
  const arms = commands.flatMap((command) =>
    command.options
      .filter((option) => option.choices.length > 0)
      .flatMap((option) =>
        option.names.map(
          (flag) =>
            `    ${quote(`${command.key}|${flag}`)}) ${printer} ${option.choices.map(quote).join(' ')} ;;`,
        ),
      ),
  );
  return [`${name}() {`, '  case "$1|$2" in', ...arms, '  esac', '}'].join('\n');
}

export function bashCompletion(program: Command): string {
  const root = commandTree(program);
  const commands = allCommands(root);
  const words = (list: readonly string[]): string => `echo ${quote(list.join(' '))}`;
  return `# bash completion for ${root.name}, generated from its commands: ${root.name} completion bash
# Load it now with: source <(${root.name} completion bash)
${caseFunction('_stepgate_subcommands', commands, (c) =>
  words([...c.subcommands.map((s) => s.name), ...c.argumentChoices]),
)}
${caseFunction('_stepgate_options', commands, (c) => words(c.options.flatMap((o) => o.names)))}
${caseFunction('_stepgate_value_options', commands, (c) => words(valueOptions(c)))}
${choicesFunction('_stepgate_choices', commands, 'echo')}
_stepgate() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" prev="\${COMP_WORDS[COMP_CWORD-1]}"
  local cmdpath=${quote(root.key)} i w
  for ((i = 1; i < COMP_CWORD; i++)); do
    w="\${COMP_WORDS[i]}"
    [[ "$w" == -* ]] && continue
    if [[ " $(_stepgate_subcommands "$cmdpath") " == *" $w "* ]]; then cmdpath="$cmdpath $w"; fi
  done
  if [[ "$prev" == -* && " $(_stepgate_value_options "$cmdpath") " == *" $prev "* ]]; then
    local choices
    choices="$(_stepgate_choices "$cmdpath" "$prev")"
    if [[ -n "$choices" ]]; then
      mapfile -t COMPREPLY < <(compgen -W "$choices" -- "$cur")
    else
      mapfile -t COMPREPLY < <(compgen -f -- "$cur")
    fi
    return 0
  fi
  if [[ "$cur" == -* ]]; then
    mapfile -t COMPREPLY < <(compgen -W "$(_stepgate_options "$cmdpath")" -- "$cur")
  else
    mapfile -t COMPREPLY < <(compgen -W "$(_stepgate_subcommands "$cmdpath")" -- "$cur")
  fi
}
complete -o default -F _stepgate ${root.name}
`;
}

export function zshCompletion(program: Command): string {
  const root = commandTree(program);
  const commands = allCommands(root);
  // _describe takes name:description; a colon in the name would have to be escaped (none has).
  const lines = (list: readonly string[]): string =>
    list.length === 0 ? ':' : `print -rl -- ${list.map(quote).join(' ')}`;
  return `#compdef ${root.name}
# zsh completion for ${root.name}, generated from its commands: ${root.name} completion zsh
# Load it now with: source <(${root.name} completion zsh), or save it as _${root.name} in $fpath.
${caseFunction('_stepgate_subcommands', commands, (c) =>
  lines([
    ...c.subcommands.map((s) => `${s.name}:${oneLine(s.description)}`),
    ...c.argumentChoices.map((choice) => `${choice}:${choice}`),
  ]),
)}
${caseFunction('_stepgate_options', commands, (c) =>
  lines(c.options.flatMap((o) => o.names.map((n) => `${n}:${oneLine(o.description)}`))),
)}
${caseFunction('_stepgate_value_options', commands, (c) => `print -r -- ${quote(valueOptions(c).join(' '))}`)}
${choicesFunction('_stepgate_choices', commands, 'print -r --')}
_stepgate() {
  local cmdpath=${quote(root.key)} w i prev=\${words[CURRENT-1]}
  local -a subs opts choices
  for (( i = 2; i < CURRENT; i++ )); do
    w=\${words[i]}
    [[ $w == -* ]] && continue
    subs=(\${(f)"$(_stepgate_subcommands "$cmdpath")"})
    if (( \${subs[(I)\${(b)w}:*]} )); then cmdpath="$cmdpath $w"; fi
  done
  if [[ $prev == -* && " $(_stepgate_value_options "$cmdpath") " == *" $prev "* ]]; then
    choices=(\${=$(_stepgate_choices "$cmdpath" "$prev")})
    if (( \${#choices} )); then compadd -a choices; else _files; fi
    return
  fi
  if [[ \${words[CURRENT]} == -* ]]; then
    opts=(\${(f)"$(_stepgate_options "$cmdpath")"})
    _describe -t options option opts
  else
    subs=(\${(f)"$(_stepgate_subcommands "$cmdpath")"})
    if (( \${#subs} )); then _describe -t commands command subs; else _files; fi
  fi
}
if [[ \${zsh_eval_context[-1]} == loadautofunc ]]; then
  _stepgate "$@"
else
  compdef _stepgate ${root.name}
fi
`;
}

export function fishCompletion(program: Command): string {
  const root = commandTree(program);
  const commands = allCommands(root);
  const fishQuote = (text: string): string =>
    `'${text.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
  const switchArms = commands
    .filter((c) => c.subcommands.length > 0)
    .map(
      (c) =>
        `        case ${fishQuote(c.key)}\n            printf '%s\\n' ${c.subcommands.map((s) => fishQuote(s.name)).join(' ')}`,
    );
  const lines = [
    `# fish completion for ${root.name}, generated from its commands: ${root.name} completion fish`,
    `# Load it now with: ${root.name} completion fish | source`,
    'function __stepgate_subcommands',
    '    switch $argv[1]',
    ...switchArms,
    '    end',
    'end',
    'function __stepgate_path',
    `    set -l cmdpath ${fishQuote(root.key)}`,
    '    for w in (commandline -opc)[2..-1]',
    "        string match -q -- '-*' $w; and continue",
    '        if contains -- $w (__stepgate_subcommands $cmdpath)',
    '            set cmdpath "$cmdpath $w"',
    '        end',
    '    end',
    '    echo $cmdpath',
    'end',
    'function __stepgate_is',
    '    test (__stepgate_path) = "$argv[1]"',
    'end',
    `complete -c ${root.name} -f`,
  ];
  for (const command of commands) {
    // Command keys are names only (letters, digits, '-'), safe inside double quotes.
    const when = `-n "__stepgate_is '${command.key}'"`;
    for (const sub of command.subcommands) {
      lines.push(
        `complete -c ${root.name} ${when} -a ${fishQuote(sub.name)} -d ${fishQuote(oneLine(sub.description))}`,
      );
    }
    if (command.argumentChoices.length > 0) {
      lines.push(
        `complete -c ${root.name} ${when} -a ${fishQuote(command.argumentChoices.join(' '))}`,
      );
    }
    for (const option of command.options) {
      const names = option.names
        .map((name) => (name.startsWith('--') ? `-l ${name.slice(2)}` : `-s ${name.slice(1)}`))
        .join(' ');
      const value =
        option.choices.length > 0
          ? ` -x -a ${fishQuote(option.choices.join(' '))}`
          : option.takesValue
            ? ' -r -F'
            : '';
      lines.push(
        `complete -c ${root.name} ${when} ${names}${value} -d ${fishQuote(oneLine(option.description))}`,
      );
    }
  }
  return `${lines.join('\n')}\n`;
}

export function completionScript(shell: CompletionShell, program: Command): string {
  switch (shell) {
    case 'bash':
      return bashCompletion(program);
    case 'zsh':
      return zshCompletion(program);
    case 'fish':
      return fishCompletion(program);
  }
}
