/**
 * CloudWatch Logs filter patterns, evaluated here because moto does not: it stores metric filters and
 * never counts anything, and its FilterLogEvents answers every event for a JSON pattern. The platform's
 * Error metric (deploy/terraform/data.tf, `{ $.level >= 50 }` on pino's numeric level) is counted by
 * `matches` over the events read back, the same events CloudWatch would have evaluated at ingestion.
 *
 * Supported, as CloudWatch defines them:
 * - JSON patterns `{ SELECTOR OP VALUE }` joined by `&&` and `||` with parentheses. SELECTOR is `$`
 *   then `.field` or `[index]` steps. A number VALUE compares numerically (`=`, `!=`, `<`, `<=`, `>`,
 *   `>=`) and only against a JSON number; a quoted or bare string VALUE compares with `=` or `!=`,
 *   where `*` is a wildcard; `IS TRUE`, `IS FALSE`, `IS NULL` and `NOT EXISTS` test the field itself.
 *   A line that is not a JSON object, or lacks the field, matches no comparison (`NOT EXISTS` aside).
 * - Text patterns: terms that must all occur (`ERROR timeout`), `"quoted phrases"`, `?a ?b` (any of),
 *   and `-term` (none of); case-sensitive, as in CloudWatch. An empty pattern matches every event.
 * Not supported (a parse error, never a silent match-all): space-delimited `[w1, w2]` patterns, regular
 * expressions (`%...%`), and JSON array wildcards (`$.a[*]`).
 */

export class FilterPatternError extends Error {
  override readonly name = "FilterPatternError";
  constructor(
    readonly pattern: string,
    reason: string,
  ) {
    super(`unsupported filter pattern ${JSON.stringify(pattern)}: ${reason}`);
  }
}

type Step = string | number;
type Comparison =
  | { kind: "number"; path: Step[]; op: NumberOp; value: number }
  | { kind: "string"; path: Step[]; op: "=" | "!="; value: string }
  | { kind: "is"; path: Step[]; value: true | false | null }
  | { kind: "notExists"; path: Step[] };
type NumberOp = "=" | "!=" | "<" | "<=" | ">" | ">=";
type Expr = Comparison | { kind: "and" | "or"; left: Expr; right: Expr };

/** A compiled pattern: `matches(message)` says whether CloudWatch would count the event. */
export interface FilterPattern {
  readonly source: string;
  matches(message: string): boolean;
}

export function compileFilterPattern(source: string): FilterPattern {
  const text = source.trim();
  if (text.startsWith("{")) {
    const expr = new JsonPatternParser(source, text).parse();
    return { source, matches: (message) => matchJson(expr, message) };
  }
  if (text.startsWith("["))
    throw new FilterPatternError(source, "space-delimited patterns are not supported");
  if (text.startsWith("%")) throw new FilterPatternError(source, "regular expressions are not supported");
  const terms = textTerms(source, text);
  return { source, matches: (message) => matchText(terms, message) };
}

// ---- JSON patterns ------------------------------------------------------------------------------

type Token =
  | { t: "op"; v: string }
  | { t: "num"; v: number }
  | { t: "str"; v: string }
  | { t: "word"; v: string }
  | { t: "sel"; v: Step[] };

class JsonPatternParser {
  private tokens: Token[] = [];
  private at = 0;

  constructor(
    private readonly source: string,
    private readonly text: string,
  ) {}

  parse(): Expr {
    if (!this.text.endsWith("}")) throw this.fail("a JSON pattern ends with '}'");
    this.tokens = this.tokenize(this.text.slice(1, -1));
    const expr = this.or();
    if (this.at !== this.tokens.length) throw this.fail(`unexpected ${describe(this.tokens[this.at])}`);
    return expr;
  }

  private or(): Expr {
    let left = this.and();
    while (this.peekOp("||")) {
      this.at++;
      left = { kind: "or", left, right: this.and() };
    }
    return left;
  }

  private and(): Expr {
    let left = this.unary();
    while (this.peekOp("&&")) {
      this.at++;
      left = { kind: "and", left, right: this.unary() };
    }
    return left;
  }

  private unary(): Expr {
    if (this.peekOp("(")) {
      this.at++;
      const inner = this.or();
      if (!this.peekOp(")")) throw this.fail("a '(' is not closed");
      this.at++;
      return inner;
    }
    return this.comparison();
  }

  private comparison(): Comparison {
    const sel = this.tokens[this.at++];
    if (sel?.t !== "sel") throw this.fail(`expected a selector ($.field), found ${describe(sel)}`);
    const path = sel.v;
    const next = this.tokens[this.at++];
    if (next?.t === "word" && next.v.toUpperCase() === "IS") {
      const what = this.tokens[this.at++];
      const word = what?.t === "word" ? what.v.toUpperCase() : "";
      if (word === "TRUE") return { kind: "is", path, value: true };
      if (word === "FALSE") return { kind: "is", path, value: false };
      if (word === "NULL") return { kind: "is", path, value: null };
      throw this.fail("IS takes TRUE, FALSE or NULL");
    }
    if (next?.t === "word" && next.v.toUpperCase() === "NOT") {
      const what = this.tokens[this.at++];
      if (what?.t === "word" && what.v.toUpperCase() === "EXISTS") return { kind: "notExists", path };
      throw this.fail("NOT takes EXISTS");
    }
    if (next?.t !== "op" || !["=", "!=", "<", "<=", ">", ">="].includes(next.v))
      throw this.fail(`expected a comparison after the selector, found ${describe(next)}`);
    const op = next.v as NumberOp;
    const value = this.tokens[this.at++];
    if (value?.t === "num") return { kind: "number", path, op, value: value.v };
    if (value?.t === "str" || value?.t === "word") {
      if (op !== "=" && op !== "!=") throw this.fail(`${op} compares numbers only`);
      return { kind: "string", path, op, value: value.v };
    }
    throw this.fail(`expected a value after ${op}, found ${describe(value)}`);
  }

  private peekOp(v: string): boolean {
    const token = this.tokens[this.at];
    return token?.t === "op" && token.v === v;
  }

  private tokenize(body: string): Token[] {
    const out: Token[] = [];
    let i = 0;
    while (i < body.length) {
      const c = body[i] ?? "";
      if (/\s/.test(c)) {
        i++;
        continue;
      }
      const two = body.slice(i, i + 2);
      if (["&&", "||", "!=", "<=", ">="].includes(two)) {
        out.push({ t: "op", v: two });
        i += 2;
      } else if ("()=<>".includes(c)) {
        out.push({ t: "op", v: c });
        i++;
      } else if (c === '"') {
        let j = i + 1;
        let value = "";
        while (j < body.length && body[j] !== '"') {
          if (body[j] === "\\" && j + 1 < body.length) j++;
          value += body[j] ?? "";
          j++;
        }
        if (j >= body.length) throw this.fail("a string is not closed");
        out.push({ t: "str", v: value });
        i = j + 1;
      } else if (c === "$") {
        const match = /^\$((?:\.[A-Za-z_@][\w@-]*|\[\d+\])*)/.exec(body.slice(i));
        const steps = match?.[1] ?? "";
        if (body[i + 1 + steps.length] === "[" || body[i + 1 + steps.length] === ".")
          throw this.fail("selectors take .field and [index] steps only");
        out.push({ t: "sel", v: [...steps.matchAll(/\.([^.[]+)|\[(\d+)\]/g)].map(stepOf) });
        i += 1 + steps.length;
      } else {
        const match = /^-?\d+(\.\d+)?([eE][-+]?\d+)?(?![\w*.])/.exec(body.slice(i));
        if (match) {
          out.push({ t: "num", v: Number(match[0]) });
          i += match[0].length;
        } else {
          const word = /^[^\s()=<>!&|"]+/.exec(body.slice(i))?.[0];
          if (word === undefined) throw this.fail(`unexpected ${JSON.stringify(c)}`);
          out.push({ t: "word", v: word });
          i += word.length;
        }
      }
    }
    return out;
  }

  private fail(reason: string): FilterPatternError {
    return new FilterPatternError(this.source, reason);
  }
}

function stepOf(m: RegExpMatchArray): Step {
  return m[1] !== undefined ? m[1] : Number(m[2]);
}

function describe(token: Token | undefined): string {
  if (token === undefined) return "the end of the pattern";
  if (token.t === "sel") return "a selector";
  return JSON.stringify(token.v);
}

function matchJson(expr: Expr, message: string): boolean {
  const text = message.trim();
  if (!text.startsWith("{")) return false;
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    return false;
  }
  return evaluate(expr, doc);
}

function evaluate(expr: Expr, doc: unknown): boolean {
  switch (expr.kind) {
    case "and":
      return evaluate(expr.left, doc) && evaluate(expr.right, doc);
    case "or":
      return evaluate(expr.left, doc) || evaluate(expr.right, doc);
    case "notExists":
      return lookup(doc, expr.path) === MISSING;
    case "is":
      return lookup(doc, expr.path) === expr.value;
    case "number": {
      const v = lookup(doc, expr.path);
      return typeof v === "number" && compareNumbers(v, expr.op, expr.value);
    }
    case "string": {
      const v = lookup(doc, expr.path);
      if (v === MISSING || v === null || typeof v === "object") return false;
      const equal = wildcard(expr.value).test(typeof v === "string" ? v : JSON.stringify(v));
      return expr.op === "=" ? equal : !equal;
    }
  }
}

const MISSING = Symbol("missing");

function lookup(doc: unknown, path: Step[]): unknown {
  let at: unknown = doc;
  for (const step of path) {
    if (typeof step === "number") {
      if (!Array.isArray(at) || step >= at.length) return MISSING;
      at = at[step] as unknown;
    } else {
      if (at === null || typeof at !== "object" || Array.isArray(at) || !Object.hasOwn(at, step))
        return MISSING;
      at = (at as Record<string, unknown>)[step];
    }
  }
  return at;
}

function compareNumbers(a: number, op: NumberOp, b: number): boolean {
  switch (op) {
    case "=":
      return a === b;
    case "!=":
      return a !== b;
    case "<":
      return a < b;
    case "<=":
      return a <= b;
    case ">":
      return a > b;
    case ">=":
      return a >= b;
  }
}

function wildcard(value: string): RegExp {
  const escaped = value.split("*").map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"));
  return new RegExp(`^${escaped.join(".*")}$`, "s");
}

// ---- text patterns ------------------------------------------------------------------------------

interface TextTerms {
  all: string[];
  any: string[];
  none: string[];
}

function textTerms(source: string, text: string): TextTerms {
  const terms: TextTerms = { all: [], any: [], none: [] };
  const re = /([?-]?)(?:"((?:[^"\\]|\\.)*)"|(\S+))/g;
  let consumed = 0;
  for (const m of text.matchAll(re)) {
    if (text.slice(consumed, m.index).trim() !== "")
      throw new FilterPatternError(source, "unbalanced quotes");
    consumed = m.index + m[0].length;
    const term = m[2] !== undefined ? m[2].replace(/\\(.)/g, "$1") : (m[3] ?? "");
    if (m[2] === undefined && term.includes('"')) throw new FilterPatternError(source, "unbalanced quotes");
    (m[1] === "?" ? terms.any : m[1] === "-" ? terms.none : terms.all).push(term);
  }
  return terms;
}

function matchText(terms: TextTerms, message: string): boolean {
  if (!terms.all.every((t) => message.includes(t))) return false;
  if (terms.any.length > 0 && !terms.any.some((t) => message.includes(t))) return false;
  return !terms.none.some((t) => message.includes(t));
}
