// ESLint flat config, modelled on Effect's own (github:Effect-TS/effect, branch v3, eslint.config.mjs):
// typescript-eslint's recommended rules, formatting by dprint through @effect/eslint-plugin (which also
// sorts import declarations and named imports), sorted destructuring keys, and this project's rule for
// src/internal. `npm run lint` checks, `npm run lint:fix` formats and fixes.
import * as effectEslint from "@effect/eslint-plugin"
import js from "@eslint/js"
import sortDestructureKeys from "eslint-plugin-sort-destructure-keys"
import { defineConfig, globalIgnores } from "eslint/config"
import globals from "globals"
import tseslint from "typescript-eslint"

export default defineConfig(
  globalIgnores(["**/dist/", "**/node_modules/", ".scratch/", "**/*.md"]),
  js.configs.recommended,
  ...tseslint.configs.recommended,
  ...effectEslint.configs.dprint,
  {
    files: ["**/*.ts", "**/*.mjs"],
    languageOptions: {
      ecmaVersion: 2022,
      sourceType: "module",
      globals: globals.node
    }
  },
  {
    plugins: {
      "sort-destructure-keys": sortDestructureKeys
    },
    linterOptions: {
      reportUnusedDisableDirectives: "error"
    },
    rules: {
      // as in Effect's config
      "no-fallthrough": "off",
      "no-irregular-whitespace": "off",
      // the protocol code validates bytes with regexes over control characters on purpose
      "no-control-regex": "off",
      "object-shorthand": "error",
      "prefer-destructuring": "off",
      "sort-imports": "off",
      "no-unused-vars": "off",
      "require-yield": "off",
      "prefer-rest-params": "off",
      "prefer-spread": "off",
      "no-duplicate-imports": ["error", { allowSeparateTypeImports: true }],
      "sort-destructure-keys/sort-destructure-keys": "error",
      "@typescript-eslint/array-type": ["error", { default: "generic", readonly: "generic" }],
      "@typescript-eslint/no-non-null-assertion": "off",
      "@typescript-eslint/no-explicit-any": "off",
      "@typescript-eslint/no-empty-object-type": "off",
      "@typescript-eslint/no-unsafe-function-type": "off",
      "@typescript-eslint/no-wrapper-object-types": "off",
      "@typescript-eslint/consistent-type-imports": "error",
      // with verbatimModuleSyntax, `import { type A } from "m"` still loads "m" at run time: write `import type`
      "@typescript-eslint/no-import-type-side-effects": "error",
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "@typescript-eslint/ban-ts-comment": "off",
      "@typescript-eslint/explicit-function-return-type": "off",
      "@typescript-eslint/explicit-module-boundary-types": "off",
      "@typescript-eslint/no-array-constructor": "off",
      "@typescript-eslint/no-use-before-define": "off",
      "@typescript-eslint/no-namespace": "off",
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
      ]
    }
  },
  {
    // examples/chat/chat.js is the chat page's classic browser script (no modules, no build step)
    files: ["examples/chat/*.js"],
    languageOptions: {
      ecmaVersion: 2022,
      sourceType: "script",
      globals: globals.browser
    },
    rules: {
      // its top-level `const status` shadows `window.status`, which a classic script may do
      "no-redeclare": ["error", { builtinGlobals: false }]
    }
  },
  {
    files: ["src/**/*.ts"],
    rules: {
      "no-console": "error",
      // as in Effect's config, for the library only: spreading an unbounded array into push() can overflow the stack
      "no-restricted-syntax": [
        "error",
        {
          selector: "CallExpression[callee.property.name='push'] > SpreadElement.arguments",
          message: "Do not use spread arguments in Array.push"
        }
      ]
    }
  },
  {
    // Project rule: a module in src/internal may import TYPES from the public modules (src/*.ts, `../X.js`),
    // never values. Public modules may import internal values, so values flow one way only.
    files: ["src/internal/**/*.ts"],
    rules: {
      "@typescript-eslint/no-restricted-imports": [
        "error",
        {
          patterns: [
            {
              group: ["../*"],
              allowTypeImports: true,
              message:
                "src/internal may import only TYPES from the public modules (src/*.ts): use `import type`, or move the value into src/internal."
            }
          ]
        }
      ]
    }
  }
)
