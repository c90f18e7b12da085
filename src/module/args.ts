// The module interface from the module's side: COMMAND [--input PATH] [--output PATH]
// [--config PATH], under the names the step gives them (modules.json's `flags` and `$flags`
// may rename them). The runner says those names in ETL_FLAG_INPUT, ETL_FLAG_OUTPUT and
// ETL_FLAG_CONFIG, so a module renamed in modules.json needs no change of its own.
import { DEFAULT_FLAGS, FLAG_VARIABLES, type InterfaceFlags } from '../definitions/interface-flags.js';
import { ExitCode, fail } from './exit.js';

export interface ModuleArgs {
  input?: string;
  output?: string;
  config?: string;
  /** The other words, in order: the module's own options (the `--strict` of a cmd). */
  rest: string[];
}

export interface ParseArgsOptions {
  /** Default: process.argv after the program and its script. */
  argv?: readonly string[];
  /** The names this module takes when it is run by hand; under etl, the runner's win. */
  flags?: Partial<InterfaceFlags>;
  env?: Record<string, string | undefined>;
}

type Role = keyof InterfaceFlags;
const ROLES: Role[] = ['input', 'output', 'config'];

/** The step's input, output and conf from the command line; a flag without its value ends the module (64). */
export function parseArgs(options: ParseArgsOptions = {}): ModuleArgs {
  const names = flagNames(options.flags, options.env ?? process.env);
  const argv = options.argv ?? process.argv.slice(2);
  const args: ModuleArgs = { rest: [] };
  for (let i = 0; i < argv.length; i++) {
    const word = argv[i]!;
    const role = ROLES.find((r) => word === names[r] || (names[r].startsWith('--') && word.startsWith(`${names[r]}=`)));
    if (role === undefined) {
      args.rest.push(word);
      continue;
    }
    const joined = word !== names[role];
    const value = joined ? word.slice(names[role].length + 1) : argv[++i];
    if (value === undefined) fail(`${word} needs a value (a path), and it is the last word`, ExitCode.usage);
    // `--input --output x`: the flag's value left out, not a path named like a flag.
    if (!joined && ROLES.some((r) => value === names[r]))
      fail(`${word} needs a value (a path), and is followed by the flag ${value}`, ExitCode.usage);
    if (args[role] !== undefined) fail(`${names[role]} is given twice ("${args[role]}", "${value}")`, ExitCode.usage);
    args[role] = value;
  }
  return args;
}

/** The names in force: the runner's, else the module's own, else --input, --output, --config. */
function flagNames(own: Partial<InterfaceFlags> | undefined, env: Record<string, string | undefined>): InterfaceFlags {
  const name = (role: Role) => env[FLAG_VARIABLES[role]] || own?.[role] || DEFAULT_FLAGS[role];
  return { input: name('input'), output: name('output'), config: name('config') };
}
