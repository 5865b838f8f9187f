/**
 * The README's code as a new user meets it: every `ts` block of README.md and of each package's README is written
 * to a file of a fresh project outside the repository that installs the packed packages (the tarballs npm would
 * publish) the way the README's install line says, type-checked there under `strict`, and run. Blocks that use
 * Redis run against servers this test starts: the example addresses of the README (127.0.0.1:6379 for a server,
 * 10.0.0.N:7000 for Cluster nodes, 10.0.0.N:26379 for sentinels) are mapped to them, with the README's passwords.
 * A block that is a test (it imports `@effect/vitest`) runs under vitest.
 */

import type { ChildProcess } from "node:child_process"
import { execFile } from "node:child_process"
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import { freePort, launch, stop } from "@cachet/dev"
import { Redis } from "ioredis"
import { afterAll, beforeAll, describe, expect, it } from "vitest"

const root = join(dirname(fileURLToPath(import.meta.url)), "..")

interface Run {
  readonly code: number
  readonly output: string
}

const run = (command: string, args: ReadonlyArray<string>, cwd: string, timeout = 120_000): Promise<Run> =>
  new Promise((resolve) => {
    execFile(command, [...args], { cwd, timeout, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === "number" ? error.code : 1
      resolve({ code, output: `${stdout}${stderr}` })
    })
  })

const must = async (command: string, args: ReadonlyArray<string>, cwd: string, timeout?: number): Promise<string> => {
  const result = await run(command, args, cwd, timeout)
  if (result.code !== 0) throw new Error(`${command} ${args.join(" ")} failed:\n${result.output}`)
  return result.output
}

const installed = (name: string): string => {
  const text = readFileSync(join(root, "node_modules", name, "package.json"), "utf8")
  const parsed: unknown = JSON.parse(text)
  const version = typeof parsed === "object" && parsed !== null ? Reflect.get(parsed, "version") : undefined
  if (typeof version !== "string") throw new Error(`no version for ${name}`)
  return version
}

interface Block {
  readonly file: string
  readonly source: string
  readonly test: boolean
  readonly redis: boolean
}

const slug = (text: string): string =>
  text
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-|-$/g, "")
    .slice(0, 40)

/** Every ts block of a markdown file, named after the heading it sits under. */
const blocksOf = (path: string, tag: string): Array<Block> => {
  const text = readFileSync(path, "utf8")
  const blocks: Array<Block> = []
  let heading = "top"
  let index = 0
  const lines = text.split("\n")
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] ?? ""
    if (line.startsWith("#")) heading = line.replace(/^#+\s*/, "")
    if (line.trim() !== "```ts") continue
    const body: Array<string> = []
    for (i++; i < lines.length && (lines[i] ?? "").trim() !== "```"; i++) body.push(lines[i] ?? "")
    const source = `${body.join("\n")}\n`
    // A test, or a call of the conformance suite (which registers tests): run under vitest.
    const test = /from "(@effect\/vitest|@cachet\/core\/testing|@cachet\/testing)"/.test(source)
    index++
    blocks.push({
      file: `${tag}-${String(index).padStart(2, "0")}-${slug(heading)}${test ? ".test" : ""}.ts`,
      source,
      test,
      redis: source.includes('from "@cachet/redis"')
    })
  }
  return blocks
}

const readmes = (): Array<Block> => [
  ...blocksOf(join(root, "README.md"), "readme"),
  ...readdirSync(join(root, "packages")).flatMap((pkg) => {
    try {
      return blocksOf(join(root, "packages", pkg, "README.md"), pkg)
    } catch {
      return []
    }
  })
]

// The README's example passwords (a Cluster's nodes and a Sentinel master share one; the sentinels have their own).
const password = "secret"
const sentinelPassword = "s"
const sentinelName = "cache"

interface Servers {
  readonly standalone: number
  readonly cluster: ReadonlyArray<number>
  readonly sentinels: ReadonlyArray<number>
  readonly stop: () => Promise<void>
}

const connect = async (port: number, auth: string | undefined): Promise<Redis> => {
  const redis = new Redis({
    host: "127.0.0.1",
    port,
    password: auth,
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null
  })
  redis.on("error", () => {})
  await redis.connect()
  return redis
}

const until = async (what: string, condition: () => Promise<boolean>): Promise<void> => {
  const deadline = Date.now() + 20_000
  for (;;) {
    if (await condition().catch(() => false)) return
    if (Date.now() > deadline) throw new Error(`${what}: not within 20 s`)
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}

const startServers = async (dir: string): Promise<Servers> => {
  const children: Array<ChildProcess> = []
  const ports = async (n: number) => {
    const found = new Set<number>()
    while (found.size < n) found.add(await freePort())
    return [...found]
  }
  const stopAll = () => Promise.all(children.map(stop)).then(() => undefined)
  try {
    const [standalone = 0, master = 0, sentinel = 0, ...cluster] = await ports(6)
    const busPorts = await ports(3)
    children.push(await launch(standalone, ["--dir", dir]))
    children.push(await launch(master, ["--requirepass", password, "--dir", dir]))
    for (const [i, port] of cluster.entries()) {
      children.push(
        await launch(port, [
          "--cluster-enabled",
          "yes",
          "--cluster-config-file",
          join(dir, `nodes-${port}.conf`),
          "--cluster-port",
          String(busPorts[i]),
          "--requirepass",
          password,
          "--masterauth",
          password,
          "--dir",
          dir
        ])
      )
    }
    await must(
      "redis-cli",
      [
        "-a",
        password,
        "--no-auth-warning",
        "--cluster",
        "create",
        ...cluster.map((p) => `127.0.0.1:${p}`),
        "--cluster-yes"
      ],
      dir
    )
    await until("the Cluster is up", async () => {
      const states = await Promise.all(
        cluster.map(async (port) => {
          const redis = await connect(port, password)
          try {
            return String(await redis.call("CLUSTER", "INFO")).includes("cluster_state:ok")
          } finally {
            redis.disconnect()
          }
        })
      )
      return states.every(Boolean)
    })
    const config = join(dir, "sentinel.conf")
    writeFileSync(
      config,
      [
        `sentinel monitor ${sentinelName} 127.0.0.1 ${master} 1`,
        `sentinel auth-pass ${sentinelName} ${password}`,
        `requirepass ${sentinelPassword}`,
        ""
      ].join("\n")
    )
    children.push(await launch(sentinel, ["--sentinel", "--dir", dir], config))
    return { standalone, cluster, sentinels: [sentinel], stop: stopAll }
  } catch (error) {
    await stopAll()
    throw error
  }
}

/** The README's example addresses, pointed at the servers of this test. */
const localized = (source: string, servers: Servers): string =>
  source
    .replaceAll("redis://127.0.0.1:6379", `redis://127.0.0.1:${servers.standalone}`)
    .replace(/10\.0\.0\.(\d+):7000/g, (_, n: string) => `127.0.0.1:${servers.cluster[Number(n) - 1] ?? 0}`)
    .replace(
      /\{ host: "10\.0\.0\.(\d+)", port: 7000 \}/g,
      (_, n: string) => `{ host: "127.0.0.1", port: ${servers.cluster[Number(n) - 1] ?? 0} }`
    )
    .replace(/10\.0\.0\.(\d+):26379/g, () => `127.0.0.1:${servers.sentinels[0] ?? 0}`)

/**
 * A block that only defines layers (no program of its own) is run by building each layer and pinging through it,
 * which connects and checks the server as a program would.
 */
const withLayerCheck = (source: string): string => {
  if (source.includes("Effect.runPromise") || source.includes("Effect.runFork")) return source
  const layers = [...source.matchAll(/^const (\w+) = RedisCache\.layer/gm)].map((match) => match[1])
  if (layers.length === 0) return source
  return [
    source,
    'import { Cache as ReadmeCache } from "@cachet/core"',
    'import { Effect as ReadmeEffect } from "effect"',
    `for (const layer of [${layers.join(", ")}]) {`,
    "  await ReadmeEffect.runPromise(ReadmeEffect.provide(ReadmeCache.ping, layer))",
    "}",
    'console.log("layers connected")',
    ""
  ].join("\n")
}

describe("README", () => {
  const work = mkdtempSync(join(tmpdir(), "cachet-readme-"))
  const app = join(work, "app")
  const tarballs = join(work, "tarballs")
  /** The tarballs of the packages a program installs (not the test suite's). */
  const cachetTarballs = () =>
    readdirSync(tarballs)
      .filter((file) => !file.includes("testing"))
      .map((file) => join(tarballs, file))
  const blocks = readmes()
  let servers: Servers | undefined

  beforeAll(async () => {
    await must("npm", ["run", "build", "--silent"], root, 300_000)
    mkdirSync(tarballs)
    for (const pkg of readdirSync(join(root, "packages"))) {
      await must("npm", ["pack", "--silent", "--pack-destination", tarballs], join(root, "packages", pkg))
    }
    mkdirSync(app)
    writeFileSync(join(app, "package.json"), JSON.stringify({ name: "readme-app", private: true, type: "module" }))
    // The versions this repository is tested with, so that a new release on the registry cannot change the result.
    const registry = [
      "effect",
      "ioredis",
      "@effect/platform",
      "typescript",
      "tsx",
      "@types/node",
      "vitest",
      "@effect/vitest",
      // The OpenTelemetry section, with the peers its layer needs.
      "@effect/opentelemetry",
      "@opentelemetry/api",
      "@opentelemetry/resources",
      "@opentelemetry/sdk-logs",
      "@opentelemetry/sdk-metrics",
      "@opentelemetry/sdk-trace-base",
      "@opentelemetry/sdk-trace-node",
      "@opentelemetry/sdk-trace-web",
      "@opentelemetry/semantic-conventions"
    ]
    await must(
      "npm",
      [
        "install",
        "--no-audit",
        "--no-fund",
        "--silent",
        ...readdirSync(tarballs).map((file) => join(tarballs, file)),
        ...registry.map((name) => `${name}@${installed(name)}`)
      ],
      app,
      300_000
    )
    mkdirSync(join(app, "blocks"))
    servers = await startServers(work)
    for (const block of blocks) {
      const source = block.redis ? withLayerCheck(localized(block.source, servers)) : block.source
      writeFileSync(join(app, "blocks", block.file), source)
    }
    writeFileSync(
      join(app, "tsconfig.json"),
      JSON.stringify({
        compilerOptions: {
          target: "ES2022",
          module: "NodeNext",
          moduleResolution: "NodeNext",
          strict: true,
          exactOptionalPropertyTypes: true,
          noUncheckedIndexedAccess: true,
          skipLibCheck: false,
          noEmit: true,
          types: ["node"]
        },
        include: ["blocks"]
      })
    )
  }, 600_000)

  afterAll(async () => {
    await servers?.stop()
    rmSync(work, { recursive: true, force: true })
  })

  it("has ts blocks to check", () => {
    expect(blocks.length).toBeGreaterThan(5)
  })

  it("every ts block type-checks under strict against the packed packages", async () => {
    const result = await run(join(app, "node_modules", ".bin", "tsc"), ["-p", "."], app)
    expect(result.output).toBe("")
    expect(result.code).toBe(0)
  }, 120_000)

  const project = (name: string): string => {
    const dir = join(work, name)
    mkdirSync(dir)
    writeFileSync(join(dir, "package.json"), JSON.stringify({ name, private: true, type: "module" }))
    return dir
  }

  it("a project that already has vitest 4 installs Cachet", async () => {
    const dir = project("on-vitest-4")
    const result = await run(
      "npm",
      [
        "install",
        "--no-audit",
        "--no-fund",
        "vitest@^4",
        `effect@${installed("effect")}`,
        `@effect/platform@${installed("@effect/platform")}`,
        ...cachetTarballs()
      ],
      dir,
      300_000
    )
    if (result.code !== 0) expect.fail(`npm install refused:\n${result.output}`)
  }, 300_000)

  it("a project on Effect 4 is told at install that Cachet needs the 3.x line", async () => {
    const dir = project("on-effect-4")
    const result = await run(
      "npm",
      ["install", "--no-audit", "--no-fund", "effect@^4", ...cachetTarballs()],
      dir,
      300_000
    )
    expect(result.code).not.toBe(0)
    expect(result.output).toContain("ERESOLVE")
    // npm names the first peer it cannot satisfy: Cachet's, or @effect/platform's on Cachet's behalf.
    expect(result.output).toMatch(/Found: effect@4/)
    expect(result.output).toMatch(/peer effect@"\^3\.\d+\.\d+"/)
    expect(result.output).toContain("@cachet/core")
  }, 300_000)

  for (const block of blocks) {
    it(`runs ${block.file}`, async () => {
      const result = block.test
        ? await run(join(app, "node_modules", ".bin", "vitest"), ["run", join("blocks", block.file)], app)
        : await run(join(app, "node_modules", ".bin", "tsx"), [join("blocks", block.file)], app, 60_000)
      expect(result.output).not.toMatch(/Unhandled|ERR_/)
      if (result.code !== 0) expect.fail(`${block.file} exited with ${result.code}:\n${result.output}`)
      if (block.file.includes("quick-start")) expect(result.output.trim()).toBe("Ada true CacheHit")
    }, 120_000)
  }
})
