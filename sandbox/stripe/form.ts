import { sandboxLimits } from './limits.ts';

// Stripe's v1 wire format: application/x-www-form-urlencoded with bracket notation, as the
// official libraries write it (qs with arrayFormat "indices"):
//   metadata[order]=42            -> { metadata: { order: "42" } }
//   payment_method_types[]=card   -> { payment_method_types: ["card"] }
//   payment_method_types[0]=card  -> { payment_method_types: ["card"] }
// Every malformed input is a named rejection, never a throw.

export type FormValue = string | FormValue[] | FormObject;
export interface FormObject {
  [key: string]: FormValue;
}

export type FormParseResult =
  | { readonly ok: true; readonly value: FormObject }
  | { readonly ok: false; readonly param: string; readonly message: string };

type Node =
  | { kind: 'leaf'; value: string }
  | { kind: 'object'; children: Map<string, Node> }
  | { kind: 'array'; children: Map<number, Node> };

const forbiddenKeys = new Set(['__proto__', 'constructor', 'prototype']);

export function parseForm(text: string): FormParseResult {
  const root: Node = { kind: 'object', children: new Map() };
  if (text.length === 0) return { ok: true, value: {} };
  const pairs = text.split('&').filter((pair) => pair.length > 0);
  if (pairs.length > sandboxLimits.form_params_max) {
    return { ok: false, param: '', message: `Too many parameters (at most ${sandboxLimits.form_params_max}).` };
  }
  for (const pair of pairs) {
    const equals = pair.indexOf('=');
    const rawKey = equals === -1 ? pair : pair.slice(0, equals);
    const rawValue = equals === -1 ? '' : pair.slice(equals + 1);
    const key = decode(rawKey);
    const value = decode(rawValue);
    if (key === null || value === null) return { ok: false, param: rawKey, message: 'Invalid percent-encoding.' };
    const path = parseKey(key);
    if (path === null) return { ok: false, param: key, message: `Invalid parameter name: ${key}` };
    const error = insert(root, path, value);
    if (error !== null) return { ok: false, param: key, message: error };
  }
  return { ok: true, value: toPlain(root) as FormObject };
}

function decode(raw: string): string | null {
  try {
    return decodeURIComponent(raw.replace(/\+/g, ' '));
  } catch {
    return null;
  }
}

/** `a[b][]` -> ['a', 'b', '']; null when the brackets are malformed or too deep. */
export function parseKey(key: string): string[] | null {
  if (key.length === 0 || key.length > sandboxLimits.form_key_length_max) return null;
  const open = key.indexOf('[');
  const head = open === -1 ? key : key.slice(0, open);
  if (head.length === 0 || head.includes(']')) return null;
  const path = [head];
  let rest = open === -1 ? '' : key.slice(open);
  while (rest.length > 0) {
    const match = /^\[([^[\]]*)\]/.exec(rest);
    if (match === null) return null;
    path.push(match[1] ?? '');
    rest = rest.slice(match[0].length);
  }
  if (path.length > sandboxLimits.form_depth_max + 1) return null;
  if (path.some((segment) => forbiddenKeys.has(segment))) return null;
  return path;
}

function insert(root: Node, path: readonly string[], value: string): string | null {
  let node = root;
  for (let depth = 0; depth < path.length; depth++) {
    const segment = path[depth] ?? '';
    const last = depth === path.length - 1;
    const next = path[depth + 1];
    const wanted: Node['kind'] = last ? 'leaf' : next === '' || /^\d+$/.test(next ?? '') ? 'array' : 'object';
    const child = childFor(node, segment, wanted);
    if (typeof child === 'string') return child;
    if (last) {
      if (child.kind !== 'leaf') return 'A parameter is given both as a value and as a hash or array.';
      child.value = value; // a repeated scalar key: the last value wins
      return null;
    }
    node = child;
  }
  return null;
}

function childFor(node: Node, segment: string, wanted: Node['kind']): Node | string {
  const fresh = (): Node =>
    wanted === 'leaf' ? { kind: 'leaf', value: '' } : wanted === 'array' ? { kind: 'array', children: new Map() } : { kind: 'object', children: new Map() };
  if (node.kind === 'leaf') return 'A parameter is given both as a value and as a hash or array.';
  if (node.kind === 'object') {
    if (segment === '') return 'Empty brackets are only allowed for arrays.';
    const existing = node.children.get(segment);
    if (existing !== undefined) return existing.kind === wanted ? existing : 'A parameter mixes hash, array and value forms.';
    const created = fresh();
    node.children.set(segment, created);
    return created;
  }
  let index: number;
  if (segment === '') {
    index = node.children.size === 0 ? 0 : Math.max(...node.children.keys()) + 1;
  } else if (/^\d+$/.test(segment)) {
    index = Number(segment);
  } else {
    return 'An array parameter has a non-numeric index.';
  }
  if (index > sandboxLimits.form_array_index_max) return 'An array index is too large.';
  const existing = node.children.get(index);
  if (existing !== undefined) return existing.kind === wanted ? existing : 'A parameter mixes hash, array and value forms.';
  const created = fresh();
  node.children.set(index, created);
  return created;
}

function toPlain(node: Node): FormValue {
  if (node.kind === 'leaf') return node.value;
  if (node.kind === 'array') {
    return [...node.children.entries()].sort((a, b) => a[0] - b[0]).map(([, child]) => toPlain(child));
  }
  const out: FormObject = {};
  for (const [key, child] of node.children) out[key] = toPlain(child);
  return out;
}

/** Canonical JSON (keys sorted) of parsed parameters: two requests with equal params compare equal. */
export function canonicalParams(value: FormValue): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(canonicalParams).join(',')}]`;
  const keys = Object.keys(value).sort();
  return `{${keys.map((key) => `${JSON.stringify(key)}:${canonicalParams(value[key] as FormValue)}`).join(',')}}`;
}
