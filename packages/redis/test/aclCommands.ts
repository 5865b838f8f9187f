/**
 * The commands README.md tells an ACL user to allow, read from README.md itself, so that the documentation and the
 * commands Cachet sends (inside scripts too) cannot drift apart.
 */
import { readFileSync } from "node:fs"

const readme = readFileSync(new URL("../../../README.md", import.meta.url), "utf8").replace(/\s+/g, " ")

/** The commands in backticks of README.md's sentence that contains `lead`, from `lead` to the sentence's end. */
const documented = (lead: string): ReadonlyArray<string> => {
  const start = readme.indexOf(lead)
  if (start === -1) throw new Error(`README.md no longer says "${lead}"`)
  const rest = readme.slice(start + lead.length)
  const sentence = rest.slice(0, rest.search(/\.( |$)/))
  return [...sentence.matchAll(/`([^`]+)`/g)].flatMap((match) => (match[1] ?? "").split(" ")).filter(Boolean)
}

/** What a user limited to `~<prefix>*` needs on a standalone server (or a Sentinel master). */
export const standaloneCommands = documented("restricted to `~<prefix>*` needs the commands")

/** What the same user needs on a Cluster. */
export const clusterCommands = [...standaloneCommands, ...documented("An ACL user on a Cluster also needs")]

/** What the same user also needs for a local tier kept coherent by tracking. */
export const trackingCommands = documented("kept coherent by tracking, an ACL user also needs the commands")
