// ESLint (flat config): the TypeScript recommended rules plus Pulumi's rules that need type information
// (an Output inside a plain template literal renders as a warning string instead of its value).
import js from "@eslint/js";
import pulumi from "@pulumi/eslint-plugin";
import tseslint from "typescript-eslint";

export default tseslint.config(
    { ignores: ["node_modules/", "bin/", "out/", "policy/node_modules/"] },
    js.configs.recommended,
    ...tseslint.configs.recommended,
    {
        files: ["**/*.ts"],
        languageOptions: {
            parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
        },
        plugins: { "@pulumi": pulumi },
        rules: {
            "@pulumi/no-output-in-template-literal": "error",
            "@pulumi/no-output-instance-in-template-literal": "error",
            // `_`-prefixed names mark values deliberately left unused (e.g. a destructured write-only field).
            "@typescript-eslint/no-unused-vars": [
                "error",
                { argsIgnorePattern: "^_", varsIgnorePattern: "^_", caughtErrors: "none" },
            ],
        },
    },
    {
        // CommonJS loaded before ts-node can load TypeScript (tests/support/register.cjs and the transpiler it names).
        files: ["**/*.cjs"],
        languageOptions: { sourceType: "commonjs", globals: { __dirname: "readonly", process: "readonly" } },
        rules: { "@typescript-eslint/no-require-imports": "off" },
    },
    {
        // Code at protocol boundaries (recorded gRPC payloads, plan JSON, policy props, test fixtures) handles
        // untyped data by nature; the program itself (components/, index.ts) stays free of `any`.
        files: ["offline/**/*.ts", "testbed/**/*.ts", "cli/**/*.ts", "tests/**/*.ts", "policy/**/*.ts"],
        rules: { "@typescript-eslint/no-explicit-any": "off" },
    },
);
