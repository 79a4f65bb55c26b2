import { readFileSync } from "node:fs";
import path from "node:path";
import { expect } from "chai";
import { CONTROLLER_ERROR_FILTER } from "../../emulator/cloud-resources";
import { compileFilterPattern, FilterPatternError } from "../../emulator/cloudwatch/metric-filter";

const line = (fields: Record<string, unknown>) =>
  JSON.stringify({ time: "2026-05-10T12:00:00.000Z", ...fields });

describe("metric filter patterns, evaluated as CloudWatch does (moto does not)", () => {
  it("the Error metric `{ $.level >= 50 }`: counts 50 and 60, not 30 or 40, nor a level given as a string", () => {
    const p = compileFilterPattern("{ $.level >= 50 }");
    expect(p.matches(line({ level: 50, msg: "broken" }))).to.equal(true);
    expect(p.matches(line({ level: 60, msg: "fatal" }))).to.equal(true);
    expect(p.matches(line({ level: 30, msg: "Error in the text" }))).to.equal(false);
    expect(p.matches(line({ level: 40 }))).to.equal(false);
    expect(p.matches(line({ level: "50" })), "a numeric comparison needs a JSON number").to.equal(false);
  });

  it("matches nothing that is not a JSON object: plain text, a truncated JSON line, an empty line", () => {
    const p = compileFilterPattern("{ $.level >= 50 }");
    expect(p.matches("level 50 ERROR")).to.equal(false);
    expect(p.matches('{"level":50,"msg":"cut of')).to.equal(false);
    expect(p.matches("")).to.equal(false);
    expect(p.matches("[50]")).to.equal(false);
  });

  it("&& binds tighter than ||, parentheses override, and every numeric operator compares", () => {
    const p = compileFilterPattern('{ $.level = 40 || $.level > 50 && $.msg = "x" }');
    expect(p.matches(line({ level: 40 }))).to.equal(true);
    expect(p.matches(line({ level: 60, msg: "x" }))).to.equal(true);
    expect(p.matches(line({ level: 60, msg: "y" }))).to.equal(false);
    const q = compileFilterPattern('{ ($.level = 40 || $.level > 50) && $.msg = "x" }');
    expect(q.matches(line({ level: 40, msg: "y" }))).to.equal(false);
    const ops: [string, number, boolean][] = [
      ["<", 49, true],
      ["<", 50, false],
      ["<=", 50, true],
      [">", 50, false],
      ["!=", 51, true],
      ["=", 50.0, true],
    ];
    for (const [op, v, want] of ops)
      expect(compileFilterPattern(`{ $.n ${op} 50 }`).matches(line({ n: v })), `${v} ${op} 50`).to.equal(
        want,
      );
  });

  it("string equality with wildcards, nested fields and array indexes; a missing field matches no comparison", () => {
    expect(
      compileFilterPattern('{ $.msg = "invocation*" }').matches(line({ msg: "invocation finished" })),
    ).to.equal(true);
    expect(compileFilterPattern("{ $.msg = finished }").matches(line({ msg: "finished" }))).to.equal(true);
    expect(compileFilterPattern('{ $.msg != "a" }').matches(line({ msg: "b" }))).to.equal(true);
    expect(compileFilterPattern('{ $.msg != "a" }').matches(line({}))).to.equal(false);
    expect(compileFilterPattern("{ $.err.code = 503 }").matches(line({ err: { code: 503 } }))).to.equal(true);
    expect(compileFilterPattern('{ $.tags[1] = "b" }').matches(line({ tags: ["a", "b"] }))).to.equal(true);
    expect(compileFilterPattern('{ $.tags[2] = "b" }').matches(line({ tags: ["a", "b"] }))).to.equal(false);
    expect(compileFilterPattern("{ $.cold IS TRUE }").matches(line({ cold: true }))).to.equal(true);
    expect(compileFilterPattern("{ $.err NOT EXISTS }").matches(line({}))).to.equal(true);
    expect(compileFilterPattern("{ $.err IS NULL }").matches(line({ err: null }))).to.equal(true);
  });

  it("text patterns: all terms, quoted phrases, ?any, -none; an empty pattern matches every event", () => {
    expect(compileFilterPattern("ERROR timeout").matches("an ERROR: timeout")).to.equal(true);
    expect(compileFilterPattern("ERROR timeout").matches("an ERROR")).to.equal(false);
    expect(compileFilterPattern('"worker booting"').matches("x worker booting y")).to.equal(true);
    expect(compileFilterPattern("?WARN ?ERROR").matches("WARN x")).to.equal(true);
    expect(compileFilterPattern("?WARN ?ERROR").matches("INFO")).to.equal(false);
    expect(compileFilterPattern("ERROR -retrying").matches("ERROR retrying")).to.equal(false);
    expect(compileFilterPattern("").matches("anything")).to.equal(true);
  });

  it("refuses what it cannot evaluate instead of counting every line", () => {
    for (const bad of [
      "{ $.level >= }",
      "{ $.level >= 50",
      "[ip, user]",
      "%ERR.*%",
      "{ $.a[*] = 1 }",
      '{ $.s > "x" }',
      "{ level >= 50 }",
    ])
      expect(() => compileFilterPattern(bad), bad).to.throw(FilterPatternError);
  });

  it("the local cloud defines the controller's filter exactly as deploy/terraform/data.tf does", () => {
    const tf = readFileSync(path.resolve(__dirname, "../../../deploy/terraform/data.tf"), "utf8");
    const block =
      /resource "aws_cloudwatch_log_metric_filter" "controller_errors" \{([\s\S]*?)\n\}/.exec(tf)?.[1] ?? "";
    expect(/pattern\s*=\s*"((?:[^"\\]|\\.)*)"/.exec(block)?.[1]).to.equal(CONTROLLER_ERROR_FILTER.pattern);
    expect(/namespace\s*=\s*"([^"]+)"/.exec(block)?.[1]).to.equal(
      CONTROLLER_ERROR_FILTER.metric.metricNamespace,
    );
    expect(/\bname\s*=\s*"(\w+)"/.exec(block.slice(block.indexOf("metric_transformation")))?.[1]).to.equal(
      CONTROLLER_ERROR_FILTER.metric.metricName,
    );
  });
});
