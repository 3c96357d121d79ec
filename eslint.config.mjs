// `npm run lint`: ESLint with typescript-eslint's recommended rules and Effect's dprint formatter as a rule
// (@effect/eslint-plugin), configured as Effect's own repositories are: 2 spaces, width 120, no semicolons,
// double quotes, no trailing commas. `npm run lint -- --fix` formats.
import * as effectEslint from "@effect/eslint-plugin"
import tseslint from "typescript-eslint"

export default [
  { ignores: ["dist/**", "node_modules/**", ".scratch/**", "scripts/bench/results/**"] },
  ...tseslint.configs.recommended,
  ...effectEslint.configs.dprint,
  {
    rules: {
      "@effect/dprint": [
        "error",
        {
          config: {
            indentWidth: 2,
            lineWidth: 120,
            semiColons: "asi",
            quoteStyle: "alwaysDouble",
            trailingCommas: "never",
            operatorPosition: "maintain",
            "arrowFunction.useParentheses": "force"
          }
        }
      ],
      // Unused names are the compiler's job (noUnusedLocals/Parameters), with `_` for the intended ones.
      "@typescript-eslint/no-unused-vars": "off",
      // `any` is used on purpose at a few boundaries (tests reading JSON, Schema's encoded side).
      "@typescript-eslint/no-explicit-any": "off",
      "@typescript-eslint/no-empty-object-type": "off"
    }
  },
  {
    files: ["**/*.mjs", "**/*.js"],
    languageOptions: { globals: { process: "readonly", console: "readonly", Buffer: "readonly" } }
  }
]
