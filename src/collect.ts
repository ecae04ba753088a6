// Turns flags into a Spec: a given flag is used as is, a missing one is asked in a TTY, and
// otherwise takes its default. Without a TTY nothing is ever asked.
import { CancelledError, UserError } from './errors.ts';
import { loadRules, OPTIONS, type OptionContext, type OptionDefinition } from './options.ts';
import { type Spec, validateSpec } from './spec.ts';

/**
 * Asks one question; resolves to the text typed or chosen, or to `null` when cancelled. `initial`
 * is the default as text ('' when there is none); Enter on an empty answer means it.
 */
export type Ask = (
  option: OptionDefinition,
  initial: string,
  validate: (text: string) => string | undefined,
) => Promise<string | null>;

export interface CollectOptions extends OptionContext {
  /** Raw flag values by Spec key (`queues` as a list). */
  flags: Partial<Record<keyof Spec, string | string[]>>;
  /** Accept defaults instead of asking. */
  yes: boolean;
  /** Present only when stdin and stdout are a TTY. */
  ask?: Ask;
}

export async function collectSpec({ flags, yes, ask, directory }: CollectOptions): Promise<Spec> {
  await loadRules();
  const answers: Partial<Spec> = {};
  for (const option of OPTIONS) {
    const key = option.key;
    const raw = flags[key];
    const flag = option.flag.split(' ')[0];
    const initial = option.default(answers, { directory });
    let value: unknown;
    if (raw !== undefined) {
      value = option.parse(raw, answers, flag);
    } else if (ask && option.prompt && !yes) {
      value = await prompt(option, option.suggest?.(answers) ?? initial, answers, ask);
    } else if (initial !== undefined) {
      const text = option.format ? option.format(initial as never) : (initial as string);
      value = option.parse(text, answers, option.typedAs?.({ directory }) ?? flag);
    } else {
      throw new UserError(
        `missing ${flag}: ${option.description}; pass it as a flag (nothing is asked without a terminal)`,
      );
    }
    Object.assign(answers, { [key]: value });
  }
  return validateSpec(answers);
}

async function prompt(option: OptionDefinition, initial: unknown, answers: Partial<Spec>, ask: Ask): Promise<unknown> {
  // Enter on an empty prompt takes the default; an example in grey is not one.
  const initialText = initial === undefined ? '' : option.format ? option.format(initial as never) : String(initial);
  const example = option.prompt?.placeholder;
  const validate = (text: string) => {
    if (!text && !initialText && example) return `type one: ${JSON.stringify(example)}, in grey, is only an example`;
    try {
      option.parse(text || initialText, answers);
      return undefined;
    } catch (error) {
      return (error as Error).message;
    }
  };
  const text = await ask(option, initialText, validate);
  if (text === null) throw new CancelledError();
  return option.parse(text || initialText, answers);
}
