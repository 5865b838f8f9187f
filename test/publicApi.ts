/**
 * The public names of each package, read by the TypeScript compiler from its entry point: every namespace its
 * index exports, and every value and type name inside each namespace.
 */
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import ts from "typescript"

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..")

export const packages = ["core", "memory", "redis", "testing"] as const

export const publicNames = (): Record<(typeof packages)[number], ReadonlyArray<string>> => {
  const entries = packages.map((name) => path.join(root, "packages", name, "src", "index.ts"))
  const program = ts.createProgram(entries, {
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    target: ts.ScriptTarget.ES2022,
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    customConditions: ["@cachet/source"]
  })
  const checker = program.getTypeChecker()
  const namesOf = (entry: string): ReadonlyArray<string> => {
    const source = program.getSourceFile(entry)
    const module = source === undefined ? undefined : checker.getSymbolAtLocation(source)
    if (module === undefined) throw new Error(`no module symbol for ${entry}`)
    const names: Array<string> = []
    for (const namespace of checker.getExportsOfModule(module)) {
      const target = namespace.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(namespace) : namespace
      for (const member of checker.getExportsOfModule(target)) names.push(`${namespace.name}.${member.name}`)
    }
    return names.sort()
  }
  return {
    core: namesOf(entries[0] ?? ""),
    memory: namesOf(entries[1] ?? ""),
    redis: namesOf(entries[2] ?? ""),
    testing: namesOf(entries[3] ?? "")
  }
}
