/**
 * How a setting is declared (see Settings): the `Setting` model, and constructors for the kinds of values settings
 * hold (counts, durations, text, lists, switches), each with a strict `effect/Config` whose errors name the variable,
 * what was expected and the value given.
 *
 * @since 0.1.0
 */
import { Config, ConfigError, Either, Option } from "effect"

/**
 * @since 0.1.0
 * @category models
 */
export interface Setting<A, D extends A | undefined = A | undefined> {
  /** The flag, without `--`. */
  readonly name: string
  /** The environment variable (and `effect/Config` key). */
  readonly env: string
  /** The value's placeholder in help (`N`, `MS`, ...); undefined for a switch. */
  readonly placeholder: string | undefined
  /** The value used when the setting is absent; undefined when absence means "none" (typed as such). */
  readonly default: D
  /** The default as help shows it. */
  readonly shown: string
  readonly description: string
  /** Reads the setting; None when absent. Invalid values fail with a ConfigError naming the variable. */
  readonly config: Config.Config<Option.Option<A>>
}

/**
 * @since 0.1.0
 * @category constructors
 */
export const setting = <A, D extends A | undefined>(
  name: string,
  env: string,
  placeholder: string | undefined,
  value: D,
  shown: string,
  description: string,
  config: Config.Config<A>
): Setting<A, D> => ({ name, env, placeholder, default: value, shown, description, config: Config.option(config) })

/**
 * A value as a message quotes it: JSON, cut after 40 characters.
 *
 * @since 0.1.0
 * @category constructors
 */
export const quoted = (raw: string): string => JSON.stringify(raw.length > 40 ? `${raw.slice(0, 40)}...` : raw)

/**
 * Reads `env` as text and parses it, failing with `ENV: expected ..., got "value"`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const parsed = <A>(env: string, expected: string, parse: (text: string) => A | undefined): Config.Config<A> =>
  Config.mapOrFail(Config.string(env), (raw) => {
    const value = parse(raw.trim())
    return value !== undefined
      ? Either.right(value)
      : Either.left(ConfigError.InvalidData([], `${env}: expected ${expected}, got ${quoted(raw)}`))
  })

/**
 * An integer from `min` to `max`, written in decimal digits (an optional sign; no fraction, exponent, hex or empty
 * value, which `Number` would take).
 *
 * @since 0.1.0
 * @category constructors
 */
export const bounded = (env: string, min: number, max: number, expected: string): Config.Config<number> =>
  parsed(env, expected, (text) => {
    if (!/^[+-]?\d{1,16}$/.test(text)) return undefined
    const n = Number(text)
    return Number.isSafeInteger(n) && n >= min && n <= max ? n + 0 : undefined
  })

/**
 * The longest delay a timer takes (2^31-1 ms, about 24.8 days); a longer one would never fire.
 *
 * @since 0.1.0
 * @category constructors
 */
export const MAX_MILLIS = 2 ** 31 - 1

const TRUE = new Set(["true", "yes", "on", "1"])
const FALSE = new Set(["false", "no", "off", "0"])

/**
 * A count or a size (`N`).
 *
 * @since 0.1.0
 * @category constructors
 */
export const count = (
  name: string,
  env: string,
  value: number,
  description: string,
  min = 0
): Setting<number, number> =>
  setting(
    name,
    env,
    "N",
    value,
    String(value),
    description,
    bounded(env, min, Number.MAX_SAFE_INTEGER, `an integer of at least ${min}`)
  )

/**
 * A duration in milliseconds (`MS`).
 *
 * @since 0.1.0
 * @category constructors
 */
export const millis = (name: string, env: string, value: number, description: string): Setting<number, number> =>
  setting(
    name,
    env,
    "MS",
    value,
    String(value),
    description,
    bounded(env, 0, MAX_MILLIS, `a number of milliseconds, an integer from 0 to ${MAX_MILLIS}`)
  )

/**
 * @since 0.1.0
 * @category constructors
 */
export const text = <D extends string | undefined>(
  name: string,
  env: string,
  placeholder: string,
  value: D,
  shown: string,
  description: string
): Setting<string, D> => setting(name, env, placeholder, value, shown, description, Config.string(env))

/**
 * @since 0.1.0
 * @category constructors
 */
export const list = (
  name: string,
  env: string,
  shown: string,
  description: string
): Setting<ReadonlyArray<string>, undefined> =>
  setting(
    name,
    env,
    "LIST",
    undefined,
    shown,
    description,
    Config.map(Config.string(env), (value) => value.split(",").map((s) => s.trim()).filter((s) => s !== ""))
  )

/**
 * @since 0.1.0
 * @category constructors
 */
export const toggle = (name: string, env: string, description: string): Setting<boolean, boolean> =>
  setting(
    name,
    env,
    undefined,
    false,
    "off",
    description,
    parsed(env, "true or false (yes/no, on/off, 1/0)", (text) => {
      const lower = text.toLowerCase()
      return TRUE.has(lower) ? true : FALSE.has(lower) ? false : undefined
    })
  )
