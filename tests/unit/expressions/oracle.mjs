// Evaluates expressions with GitHub's TypeScript evaluator (@actions/expressions), one JSON
// request per stdin line: {"expr": "...", "contexts": {...}} -> {"stage": "ok"|"lexing"|
// "parsing"|"evaluation", "kind"?, "value"?, "message"?}. Used as an oracle by
// test_oracle.py; the package directory comes from EXPRESSIONS_ORACLE_DIR.
import { createInterface } from "node:readline";
import path from "node:path";
import { pathToFileURL } from "node:url";

const dir = process.env.EXPRESSIONS_ORACLE_DIR;
const lib = await import(
  pathToFileURL(path.join(dir, "node_modules/@actions/expressions/dist/index.js")).href
);
const { Lexer, Parser, Evaluator, data } = lib;

function kindName(value) {
  if (value instanceof data.Null) return "Null";
  if (value instanceof data.BooleanData) return "Boolean";
  if (value instanceof data.NumberData) return "Number";
  if (value instanceof data.StringData) return "String";
  if (value instanceof data.Array) return "Array";
  return "Object";
}

function run(request) {
  const contexts = request.contexts || {};
  let tokens;
  try {
    tokens = new Lexer(request.expr).lex().tokens;
  } catch (e) {
    return { stage: "lexing", message: String(e.message) };
  }
  let tree;
  try {
    tree = new Parser(tokens, Object.keys(contexts), []).parse();
  } catch (e) {
    return { stage: "parsing", message: String(e.message) };
  }
  const ctx = JSON.parse(JSON.stringify(contexts), data.reviver);
  try {
    const result = new Evaluator(tree, ctx).evaluate();
    return {
      stage: "ok",
      kind: kindName(result),
      value: JSON.parse(JSON.stringify(result, data.replacer)),
    };
  } catch (e) {
    return { stage: "evaluation", message: String(e.message) };
  }
}

const rl = createInterface({ input: process.stdin });
for await (const line of rl) {
  if (line.trim()) process.stdout.write(JSON.stringify(run(JSON.parse(line))) + "\n");
}
