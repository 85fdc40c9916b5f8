/**
 * Command-line flags of the example programs: `--name value`.
 */
export const flag = (argv: ReadonlyArray<string>, name: string): string | undefined => {
  const index = argv.indexOf(name)
  return index >= 0 ? argv[index + 1] : undefined
}
