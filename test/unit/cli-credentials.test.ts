import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { expect } from "chai";
import { loadCliConfig } from "../../cli/config";
import { checkGivenCredentials, loadOrCreateCredentials, MIN_SECRET_CHARS } from "../../cli/credentials";
import { UserError } from "../../cli/errors";

describe("cli: the dev environment's credentials", () => {
  const long = "k".repeat(MIN_SECRET_CHARS);
  const short = "k".repeat(MIN_SECRET_CHARS - 1);

  it("accepts keys and secrets of the services' minimum length, or none", () => {
    expect(() => checkGivenCredentials({ apiKey: long, workerSecret: long })).not.to.throw();
    expect(() => checkGivenCredentials({ apiKey: undefined, workerSecret: undefined })).not.to.throw();
  });

  it("refuses a short FAAS_API_KEY or FAAS_WORKER_SECRET as a user error naming the variable", () => {
    for (const [given, variable] of [
      [{ apiKey: short, workerSecret: long }, "FAAS_API_KEY"],
      [{ apiKey: long, workerSecret: short }, "FAAS_WORKER_SECRET"],
    ] as const) {
      expect(() => checkGivenCredentials(given))
        .to.throw(UserError, `${variable} is ${MIN_SECRET_CHARS - 1} characters long`)
        .with.property("message")
        .that.includes(`at least ${MIN_SECRET_CHARS}`);
    }
    expect(() => checkGivenCredentials({ apiKey: "", workerSecret: "x" }))
      .to.throw(UserError)
      .with.property("message")
      .that.includes("FAAS_API_KEY is 0 characters")
      .and.includes("FAAS_WORKER_SECRET is 1 characters");
  });

  it("generates and keeps credentials when none are given, and never stores a short one", () => {
    const home = mkdtempSync(path.join(os.tmpdir(), "faas-home-"));
    try {
      const config = loadCliConfig({ FAAS_HOME: home });
      const made = loadOrCreateCredentials(config);
      expect(made.apiKey.length).to.be.at.least(MIN_SECRET_CHARS);
      expect(made.workerSecret.length).to.be.at.least(MIN_SECRET_CHARS);
      expect(loadOrCreateCredentials(config), "kept for the next run").to.deep.equal(made);
      const shortKey = loadCliConfig({ FAAS_HOME: home, FAAS_API_KEY: short });
      expect(() => loadOrCreateCredentials(shortKey)).to.throw(UserError, "FAAS_API_KEY");
      expect(loadOrCreateCredentials(config), "the stored credentials are unchanged").to.deep.equal(made);
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });
});
