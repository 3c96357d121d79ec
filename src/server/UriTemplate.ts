/**
 * RFC 6570 URI templates, the subset resource templates use: simple `{var}`, reserved `{+var}`, fragment
 * `{#var}`, label `{.var}`, path `{/var}` and query `{?a,b}` / `{&a}` expressions, compiled once to a matcher.
 *
 * @since 0.1.0
 */

/**
 * @since 0.1.0
 * @category models
 */
export interface UriTemplate {
  readonly template: string
  readonly variables: ReadonlyArray<string>
  /** The variables of a matching URI, decoded; undefined when the URI does not match. */
  readonly match: (uri: string) => Record<string, string> | undefined
}

const escapeRegex = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")

const decode = (value: string): string => {
  try {
    return decodeURIComponent(value)
  } catch {
    return value
  }
}

/**
 * Compiles a template. Throws on a malformed template (an unclosed brace), which is a programming error caught
 * when the server is declared.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (template: string): UriTemplate => {
  let pattern = "^"
  const groups: Array<string> = []
  const queryVariables: Array<string> = []
  const variables: Array<string> = []
  let hasQuery = false
  let index = 0
  while (index < template.length) {
    const open = template.indexOf("{", index)
    if (open === -1) {
      pattern += escapeRegex(template.slice(index))
      break
    }
    pattern += escapeRegex(template.slice(index, open))
    const close = template.indexOf("}", open)
    if (close === -1) throw new Error(`Malformed URI template (unclosed "{"): ${template}`)
    let expression = template.slice(open + 1, close)
    const operator = /^[+#./;?&]/.test(expression) ? expression[0]! : ""
    if (operator !== "") expression = expression.slice(1)
    const names = expression.split(",").map((name) => name.replace(/\*$|:\d+$/, "").trim()).filter((n) => n !== "")
    variables.push(...names)
    switch (operator) {
      case "?":
      case "&": {
        hasQuery = true
        queryVariables.push(...names)
        break
      }
      case "+": {
        pattern += names.map(() => "([^?#]*)").join(",")
        groups.push(...names)
        break
      }
      case "#": {
        pattern += "#" + names.map(() => "(.*)").join(",")
        groups.push(...names)
        break
      }
      case "/": {
        pattern += names.map(() => "/([^/?#]*)").join("")
        groups.push(...names)
        break
      }
      case ".": {
        pattern += names.map(() => "\\.([^/?#.]*)").join("")
        groups.push(...names)
        break
      }
      case ";": {
        pattern += names.map((name) => `;${escapeRegex(name)}=?([^/?#;]*)`).join("")
        groups.push(...names)
        break
      }
      default: {
        pattern += names.map(() => "([^/?#,]+)").join(",")
        groups.push(...names)
      }
    }
    index = close + 1
  }
  pattern += hasQuery ? "(?:\\?([^#]*))?$" : "$"
  const regex = new RegExp(pattern)
  return {
    template,
    variables,
    match: (uri) => {
      const result = regex.exec(uri)
      if (result === null) return undefined
      const values: Record<string, string> = {}
      groups.forEach((name, i) => {
        values[name] = decode(result[i + 1] ?? "")
      })
      if (hasQuery) {
        const query = result[groups.length + 1]
        if (query !== undefined) {
          for (const pair of query.split("&")) {
            const eq = pair.indexOf("=")
            const key = decode(eq === -1 ? pair : pair.slice(0, eq))
            if (queryVariables.includes(key)) values[key] = decode(eq === -1 ? "" : pair.slice(eq + 1))
          }
        }
      }
      return values
    }
  }
}
