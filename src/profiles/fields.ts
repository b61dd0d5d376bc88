/**
 * Typed reading of a profile's JSON objects with TIB's decoding rules: keys are matched exactly first,
 * then case-insensitively (Go's encoding/json); a value of the wrong JSON type is an error that names
 * the field; unknown keys are collected so validation can warn about likely typos.
 */
export interface FieldError {
  /** Dotted path inside the profile, e.g. `ProviderConfig.LDAPPort`. */
  field: string;
  message: string;
}

type Json = Record<string, unknown>;

export function isPlainObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function jsonType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}

/** Is `value` an absolute http(s) URL? */
export function isHttpUrl(value: string): boolean {
  try {
    const u = new URL(value);
    return (u.protocol === 'http:' || u.protocol === 'https:') && u.host !== '';
  } catch {
    return false;
  }
}

export class FieldReader {
  private readonly used = new Set<string>();
  /** Every key a reader asked for, present or not: the names a misspelt key is compared with. */
  private readonly asked = new Set<string>();
  /** Fields refused for their JSON type (paths included): later checks of their fallback are not errors. */
  private readonly mistyped = new Set<string>();

  constructor(
    private readonly raw: Json,
    /** Path prefix for messages, e.g. `ProviderConfig`. */
    readonly path: string,
    readonly errors: FieldError[],
    private readonly caseInsensitive = true,
  ) {}

  /** The raw value for `key`, or undefined. JSON null counts as absent, as in Go. */
  value(key: string): unknown {
    this.asked.add(key);
    const actual = this.keyFor(key);
    if (actual === undefined) return undefined;
    this.used.add(actual);
    const v = this.raw[actual];
    return v === null ? undefined : v;
  }

  has(key: string): boolean {
    return this.value(key) !== undefined;
  }

  string(key: string, fallback = ''): string {
    const v = this.value(key);
    if (v === undefined) return fallback;
    if (typeof v !== 'string') return this.typeError(key, 'a string', v, fallback);
    return v;
  }

  bool(key: string, fallback = false): boolean {
    const v = this.value(key);
    if (v === undefined) return fallback;
    if (typeof v !== 'boolean') return this.typeError(key, 'a boolean (true or false)', v, fallback);
    return v;
  }

  /** An integer; Go refuses fractions and strings for int fields. */
  int(key: string, fallback = 0): number {
    const v = this.value(key);
    if (v === undefined) return fallback;
    if (typeof v !== 'number' || !Number.isInteger(v)) return this.typeError(key, 'an integer', v, fallback);
    return v;
  }

  /** A number of any kind (TIB reads some values as float64). */
  number(key: string, fallback = 0): number {
    const v = this.value(key);
    if (v === undefined) return fallback;
    if (typeof v !== 'number' || !Number.isFinite(v)) return this.typeError(key, 'a number', v, fallback);
    return v;
  }

  stringList(key: string): string[] {
    const v = this.value(key);
    if (v === undefined) return [];
    if (!Array.isArray(v)) return this.typeError(key, 'an array of strings', v, []);
    // Name the element: "must be an array of strings, got array" would not say what is wrong.
    const bad = v.findIndex((x) => typeof x !== 'string');
    if (bad >= 0) return this.typeError(`${key}[${bad}]`, 'a string', v[bad], []);
    return v as string[];
  }

  stringMap(key: string): Record<string, string> {
    const v = this.value(key);
    if (v === undefined) return {};
    if (!isPlainObject(v) || Object.values(v).some((x) => typeof x !== 'string')) {
      return this.typeError(key, 'an object of string values', v, {});
    }
    return { ...(v as Record<string, string>) };
  }

  /** A nested object read with the same rules; an absent one reads as empty. */
  object(key: string): FieldReader {
    const v = this.value(key);
    const name = this.keyFor(key) ?? key;
    if (v !== undefined && !isPlainObject(v)) {
      this.typeError(key, 'an object', v, undefined);
      return new FieldReader({}, this.child(name), this.errors, this.caseInsensitive);
    }
    return new FieldReader((v as Json) ?? {}, this.child(name), this.errors, this.caseInsensitive);
  }

  /** An array of objects, each read with the same rules. */
  objectList(key: string): FieldReader[] {
    const v = this.value(key);
    if (v === undefined) return [];
    const name = this.keyFor(key) ?? key;
    if (!Array.isArray(v)) return this.typeError(key, 'an array of objects', v, []);
    const out: FieldReader[] = [];
    v.forEach((item, i) => {
      if (!isPlainObject(item)) {
        this.errors.push({ field: `${this.child(name)}[${i}]`, message: `must be an object, got ${jsonType(item)}` });
      } else {
        out.push(new FieldReader(item, `${this.child(name)}[${i}]`, this.errors, this.caseInsensitive));
      }
    });
    return out;
  }

  /** An absolute http(s) URL, or "" when absent and not required. */
  url(key: string, required = false): string {
    const v = this.string(key);
    if (v === '') {
      if (required) this.error(key, 'is required (an absolute http or https URL)');
      return '';
    }
    if (!isHttpUrl(v)) this.error(key, `must be an absolute http or https URL, got ${JSON.stringify(v)}`);
    return v;
  }

  /**
   * Record an error against `key` (for checks beyond the JSON type). A field already refused for its JSON
   * type gets no second error: the check ran on the fallback value, not on what the file holds
   * (`"LDAPPort": 389` is one error, not also "must be a port number").
   */
  error(key: string, message: string): void {
    const field = this.child(this.keyFor(key) ?? key);
    if (this.mistyped.has(field)) return;
    this.errors.push({ field, message });
  }

  /** The keys readers asked for (known options), without the path. */
  knownKeys(): string[] {
    return [...this.asked];
  }

  /** Keys present in the object that no reader asked for (likely typos); paths included. */
  unknownKeys(): string[] {
    return Object.keys(this.raw)
      .filter((k) => !this.used.has(k))
      .map((k) => this.child(k));
  }

  private keyFor(key: string): string | undefined {
    if (Object.hasOwn(this.raw, key)) return key;
    if (!this.caseInsensitive) return undefined;
    const lower = key.toLowerCase();
    return Object.keys(this.raw).find((k) => k.toLowerCase() === lower);
  }

  private child(name: string): string {
    return this.path ? `${this.path}.${name}` : name;
  }

  private typeError<T>(key: string, expected: string, got: unknown, fallback: T): T {
    // The value itself is never quoted: it may be a secret of the wrong type.
    const quoteIt = expected === 'a string' && (typeof got === 'number' || typeof got === 'boolean') ? ` (put the value in double quotes: TIB's profile struct holds a string here)` : '';
    this.error(key, `must be ${expected}, got ${jsonType(got)}${quoteIt}`);
    this.mistyped.add(this.child(this.keyFor(key) ?? key));
    return fallback;
  }
}
