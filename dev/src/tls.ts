/**
 * A Redis server that speaks TLS: a certificate authority and a server certificate made by openssl in a temporary
 * directory (gone with the scope), and a `redis-server --tls-port` of our own that presents them.
 */
import { execFile } from "node:child_process"
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import { freePort, server } from "./harness.js"

const openssl = (dir: string, args: ReadonlyArray<string>): Promise<void> =>
  new Promise((resolve, reject) =>
    execFile("openssl", [...args], { cwd: dir }, (error, _stdout, stderr) =>
      error === null ? resolve() : reject(new Error(`openssl failed: ${stderr}`))
    )
  )

/** Where the files are, and the authorities in PEM. */
export interface Certificates {
  readonly dir: string
  /** The authority that signed the server's certificate, PEM. */
  readonly ca: string
  /** Another authority, which signed nothing here. */
  readonly otherCa: string
}

/** An authority, a server certificate it signed (for 127.0.0.1 and localhost), and an authority that signed nothing. */
export const certificates: Effect.Effect<Certificates, never, Scope.Scope> = Effect.acquireRelease(
  Effect.promise(async () => {
    const dir = await mkdtemp(join(tmpdir(), "cachet-tls-"))
    const authority = (name: string) =>
      openssl(
        dir,
        ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", `/CN=${name}`].concat([
          "-keyout",
          `${name}.key`,
          "-out",
          `${name}.crt`
        ])
      )
    await authority("ca")
    await authority("other")
    await openssl(
      dir,
      ["req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost"].concat([
        "-keyout",
        "server.key",
        "-out",
        "server.csr"
      ])
    )
    await writeFile(join(dir, "ext.cnf"), "subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    await openssl(
      dir,
      ["x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial"].concat([
        "-days",
        "1",
        "-out",
        "server.crt",
        "-extfile",
        "ext.cnf"
      ])
    )
    return {
      dir,
      ca: await readFile(join(dir, "ca.crt"), "utf8"),
      otherCa: await readFile(join(dir, "other.crt"), "utf8")
    }
  }),
  ({ dir }) => Effect.promise(() => rm(dir, { recursive: true, force: true }))
)

/** A server with a TLS port (and its plain port, which the harness uses to see that it is up). */
export const tlsServer = Effect.gen(function* () {
  const certs = yield* certificates
  const tlsPort = yield* Effect.promise(() => freePort())
  const s = yield* server([
    "--tls-port",
    String(tlsPort),
    "--tls-cert-file",
    join(certs.dir, "server.crt"),
    "--tls-key-file",
    join(certs.dir, "server.key"),
    "--tls-ca-cert-file",
    join(certs.dir, "ca.crt"),
    "--tls-auth-clients",
    "no"
  ])
  return { ...certs, tlsPort, plainPort: s.port }
})
