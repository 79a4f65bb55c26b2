/**
 * Certificate pinning for a platform whose API serves a self-signed certificate (docs/failover.md,
 * deploy/README.md "TLS"): the connection is accepted only when the server's certificate has the
 * SHA-256 fingerprint the caller was given (`make deploy` and `faas dev up --tls` print it). The
 * certificate chain and name are not checked — the fingerprint names the one certificate trusted —
 * so the same pin works through the Elastic IP, its DNS name or 127.0.0.1.
 */
import type { TLSSocket } from "node:tls";
import { Agent, buildConnector } from "undici";

/** "AB:CD:…" or "abcd…", any case: the 64 hex digits, lower case. */
export function normalizeFingerprint(fingerprint: string): string {
  const hex = fingerprint.replace(/:/g, "").toLowerCase();
  if (!/^[0-9a-f]{64}$/.test(hex))
    throw new Error(`a TLS fingerprint is a SHA-256: 64 hex digits, colons allowed; got '${fingerprint}'`);
  return hex;
}

export class CertificateMismatchError extends Error {
  override readonly name = "CertificateMismatchError";
}

/** An HTTP dispatcher whose TLS connections must present the pinned certificate. */
export function pinnedDispatcher(fingerprint: string): Agent {
  const pin = normalizeFingerprint(fingerprint);
  // No TLS session resumption: a resumed session presents no certificate to check, and a session cached
  // from a connection this check refused must never be resumed. Kept-alive connections amortise it.
  const connect = buildConnector({ rejectUnauthorized: false, maxCachedSessions: 0 });
  return new Agent({
    connect: (options, callback) => {
      connect(options, (err, socket) => {
        if (err !== null) {
          callback(err, null);
          return;
        }
        if (options.protocol === "https:") {
          const presented = (socket as TLSSocket).getPeerCertificate().fingerprint256 as string | undefined;
          if (presented === undefined || normalizeFingerprint(presented) !== pin) {
            socket.destroy();
            callback(
              new CertificateMismatchError(
                `the server's certificate (SHA-256 ${presented ?? "none presented"}) is not the pinned one: refusing to send the API key`,
              ),
              null,
            );
            return;
          }
        }
        callback(null, socket);
      });
    },
  });
}
