// cluster-key-slot ships no types; this is the one function Cachet uses.
declare module "cluster-key-slot" {
  /** The Cluster hash slot (0 to 16383) of a key: CRC16 of the key, or of its hash tag `{...}` when it has one. */
  const calculateSlot: (key: string) => number
  export default calculateSlot
}
