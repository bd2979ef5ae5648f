// ajv validators for the config parts, compiled lazily (once) with
// api/validation.ts `compile` from the TypeBox schemas of api/gateway/config.ts.
import type { TSchema } from '@sinclair/typebox';
import type { ValidateFunction } from 'ajv';
import { compile, describeErrors, formatErrors } from '../../api/validation.ts';

/** A validator returning undefined when valid, else a one-line description of the errors (at most 5). */
export function ajvCompileOnce(schema: TSchema): (value: unknown) => string | undefined {
  let fn: ValidateFunction | undefined;
  return (value) => {
    fn ??= compile(schema);
    if (fn(value)) return undefined;
    const errs = describeErrors(fn.errors);
    return formatErrors(errs.slice(0, 5)) + (errs.length > 5 ? `; and ${errs.length - 5} more` : '');
  };
}
