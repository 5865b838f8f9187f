// Packs every package, installs the tarballs into an empty project outside the repository, then type-checks
// and runs the README's quick start there. Proves the exports maps, the emitted ESM and the declarations.
// Run after `npm run build`.
import { execFileSync } from "node:child_process"
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"

const root = join(dirname(fileURLToPath(import.meta.url)), "..")
const run = (command, args, cwd) =>
  execFileSync(command, args, { cwd, stdio: ["ignore", "pipe", "inherit"] }).toString()
const installed = (name) => JSON.parse(readFileSync(join(root, "node_modules", name, "package.json"), "utf8")).version

const work = mkdtempSync(join(tmpdir(), "cachet-pack-"))
try {
  const tarballs = join(work, "tarballs")
  mkdirSync(tarballs)
  for (const pkg of ["core", "memory", "redis"]) {
    run("npm", ["pack", "--silent", "--pack-destination", tarballs], join(root, "packages", pkg))
  }
  const files = readdirSync(tarballs).map((file) => join(tarballs, file))
  console.log(`packed: ${readdirSync(tarballs).join(", ")}`)

  const app = join(work, "app")
  mkdirSync(app)
  writeFileSync(join(app, "package.json"), JSON.stringify({ name: "app", private: true, type: "module" }))
  // The same versions the repository was tested with, from the registry.
  const peers = ["effect", "@effect/platform", "typescript", "tsx", "@types/node"].map(
    (name) => `${name}@${installed(name)}`
  )
  run("npm", ["install", "--no-audit", "--no-fund", "--silent", ...files, ...peers], app)

  const readme = readFileSync(join(root, "README.md"), "utf8")
  const section = readme.slice(readme.indexOf("## Quick start"))
  const match = /```ts\n([\s\S]*?)```/.exec(section)
  if (match === null) throw new Error("README has no ts block under '## Quick start'")
  writeFileSync(join(app, "quickstart.ts"), match[1])
  writeFileSync(
    join(app, "tsconfig.json"),
    JSON.stringify({
      compilerOptions: {
        target: "ES2022",
        module: "NodeNext",
        moduleResolution: "NodeNext",
        strict: true,
        exactOptionalPropertyTypes: true,
        noEmit: true,
        types: ["node"]
      },
      include: ["quickstart.ts"]
    })
  )
  run(join(app, "node_modules", ".bin", "tsc"), ["-p", "."], app)
  console.log("quick start type-checks against the installed declarations")
  const output = run(join(app, "node_modules", ".bin", "tsx"), ["quickstart.ts"], app).trim()
  console.log(`quick start printed: ${output}`)
  if (output !== "Ada true CacheHit") throw new Error(`unexpected quick start output: ${output}`)
  console.log("pack smoke test passed")
} finally {
  rmSync(work, { recursive: true, force: true })
}
