/** The local deploy runner's errors: what the user must fix (a stack or user data it cannot boot) apart from API failures. */

export type LocalDeployErrorCode =
  /** No Auto Scaling group of the deployment's name in the local cloud: nothing was applied. */
  | "no-groups"
  /** A group's launch template has no user data, or user data without a boot.env the runner can read. */
  | "bad-user-data"
  /** A secret faas-boot would read is missing or empty. */
  | "missing-secret"
  /** The group records no instance to adopt. */
  | "no-instance"
  /** The API's certificate in SSM is not a pair, or not the one user data says clients pin. */
  | "bad-certificate"
  /** The stack asks for what the local cloud cannot give (tls_mode = acme: Caddy and an ACME CA). */
  | "unsupported";

export class LocalDeployError extends Error {
  constructor(
    readonly code: LocalDeployErrorCode,
    message: string,
  ) {
    super(message);
    this.name = "LocalDeployError";
  }
}
