// Validates Flux objects against Flux's own API schemas: the validators @kubernetes-models/flux-cd
// generates from Flux's CRDs (installed into .cache/npm by `make unit`).
// stdin: a JSON list of objects; stdout: a JSON list, per object, of its problems ([] when valid).
import { existsSync, readFileSync } from "node:fs";
import { pathToFileURL } from "node:url";

const [root] = process.argv.slice(2);
const models_dir = `${root}/node_modules/@kubernetes-models/flux-cd`;
const objects = JSON.parse(readFileSync(0, "utf8"));
const results = [];
for (const object of objects) {
  const api = String(object.apiVersion ?? "");
  if (!api.includes(".fluxcd.io/")) {
    results.push([`${api} ${object.kind}: not a Flux API`]);
    continue;
  }
  const entry = `${models_dir}/${api}/index.js`;
  if (!/^[a-z0-9.]+\/v[a-z0-9]+$/.test(api) || !existsSync(entry)) {
    results.push([`${api}: no such Flux API version`]);
    continue;
  }
  const models = await import(pathToFileURL(entry));
  const Model = models[object.kind];
  if (!Model) {
    results.push([`${api} ${object.kind}: no such Flux kind`]);
    continue;
  }
  try {
    new Model(object).validate();
    results.push([]);
  } catch (error) {
    results.push([String(error.message)]);
  }
}
process.stdout.write(JSON.stringify(results));
