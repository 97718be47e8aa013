import { invalidParam, missingParam, unknownParam, type ApiResult } from './errors.ts';
import type { FormObject, FormValue } from './form.ts';
import { sandboxLimits } from './limits.ts';

// Reading typed parameters out of a parsed form. Each reader returns the value or the exact
// 400 Stripe would answer; endpoints stop at the first rejection.

export type Read<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: ApiResult };

const ok = <T>(value: T): Read<T> => ({ ok: true, value });
const no = <T>(error: ApiResult): Read<T> => ({ ok: false, error });

export function rejectUnknown(params: FormObject, allowed: readonly string[]): ApiResult | null {
  for (const name of Object.keys(params)) if (!allowed.includes(name)) return unknownParam(name);
  return null;
}

export function optionalString(params: FormObject, name: string, length_max = 5_000): Read<string | null> {
  const value: FormValue | undefined = params[name];
  if (value === undefined) return ok(null);
  if (typeof value !== 'string') return no(invalidParam(`Invalid string: ${name} must be a string.`, name, 'parameter_invalid_string'));
  if (value.length > length_max) return no(invalidParam(`${name} must be at most ${length_max} characters.`, name, 'parameter_invalid_string'));
  return ok(value);
}

export function requiredString(params: FormObject, name: string, length_max = 5_000): Read<string> {
  const read = optionalString(params, name, length_max);
  if (!read.ok) return read;
  if (read.value === null || read.value === '') return no(missingParam(name));
  return ok(read.value);
}

export function optionalInteger(params: FormObject, name: string): Read<number | null> {
  const value = params[name];
  if (value === undefined) return ok(null);
  if (typeof value !== 'string' || !/^-?\d{1,15}$/.test(value)) {
    return no(invalidParam(`Invalid integer: ${typeof value === 'string' ? value : name}`, name, 'parameter_invalid_integer'));
  }
  return ok(Number(value));
}

export function optionalBoolean(params: FormObject, name: string): Read<boolean | null> {
  const value = params[name];
  if (value === undefined) return ok(null);
  if (value === 'true') return ok(true);
  if (value === 'false') return ok(false);
  return no(invalidParam(`Invalid boolean: ${typeof value === 'string' ? value : name}`, name, 'parameter_invalid_string'));
}

export function optionalStringArray(params: FormObject, name: string): Read<string[] | null> {
  const value = params[name];
  if (value === undefined) return ok(null);
  if (!Array.isArray(value) || !value.every((item): item is string => typeof item === 'string')) {
    return no(invalidParam(`Invalid array: ${name} must be an array of strings.`, name, 'parameter_invalid_array'));
  }
  return ok(value);
}

/** Stripe's metadata: at most 50 keys, keys up to 40 characters, values up to 500. */
export function metadata(params: FormObject): Read<Record<string, string>> {
  const value = params['metadata'];
  if (value === undefined || value === '') return ok({});
  if (typeof value !== 'object' || Array.isArray(value)) return no(invalidParam('Invalid hash: metadata must be a hash.', 'metadata', 'parameter_invalid_hash'));
  const entries = Object.entries(value);
  if (entries.length > sandboxLimits.metadata_keys_max) {
    return no(invalidParam(`Metadata can have at most ${sandboxLimits.metadata_keys_max} keys.`, 'metadata'));
  }
  const out: Record<string, string> = {};
  for (const [key, item] of entries) {
    const param = `metadata[${key}]`;
    if (typeof item !== 'string') return no(invalidParam('Metadata values must be strings.', param));
    if (key.length > sandboxLimits.metadata_key_length_max) return no(invalidParam('Metadata keys can be at most 40 characters.', param));
    if (item.length > sandboxLimits.metadata_value_length_max) return no(invalidParam('Metadata values can be at most 500 characters.', param));
    if (item !== '') out[key] = item; // an empty value unsets a key in Stripe
  }
  return ok(out);
}

/** limit (1..100, default 10) of list and search endpoints. */
export function pageLimit(params: FormObject): Read<number> {
  const read = optionalInteger(params, 'limit');
  if (!read.ok) return read;
  if (read.value === null) return ok(sandboxLimits.page_size_default);
  if (read.value < 1 || read.value > sandboxLimits.page_size_max) {
    return no(invalidParam(`Invalid limit: must be between 1 and ${sandboxLimits.page_size_max}`, 'limit', 'parameter_invalid_integer'));
  }
  return ok(read.value);
}
