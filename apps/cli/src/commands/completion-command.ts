import { Argument, type Command } from 'commander';
import { COMPLETION_SHELLS, completionScript, type CompletionShell } from '../output/completion.js';

const COMPLETION_HELP = `
Load it for this shell, or save it where your shell looks for completions:
  bash: source <(stepgate completion bash)      or save to ~/.local/share/bash-completion/completions/stepgate
  zsh:  source <(stepgate completion zsh)       or save as _stepgate in a folder of $fpath
  fish: stepgate completion fish | source       or save to ~/.config/fish/completions/stepgate.fish`;

export function registerCompletionCommand(program: Command): void {
  program
    .command('completion')
    .description('print a shell completion script for bash, zsh or fish')
    .addArgument(new Argument('<shell>', 'bash, zsh or fish').choices(COMPLETION_SHELLS))
    .addHelpText('after', COMPLETION_HELP)
    .action((shell: CompletionShell) => {
      process.stdout.write(completionScript(shell, program));
    });
}
