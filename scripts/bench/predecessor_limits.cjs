// Preloaded into the predecessor (`node --require`) for a bench run only: its HTTP server creates
// express-rate-limit limiters with hard-coded allowances (100 requests per 15 minutes on /mcp),
// which a 300-request run would hit. This raises every limiter it creates to an allowance no run
// reaches, without touching its files.
"use strict";
const Module = require("node:module");

const ALLOWANCE = 1_000_000_000;
const load = Module._load;
let raised = null;

Module._load = function (request, ...rest) {
  const loaded = load.call(this, request, ...rest);
  if (request !== "express-rate-limit") return loaded;
  if (raised === null) {
    raised = function rateLimit(options = {}) {
      const { max: _max, ...others } = options;
      return loaded({ ...others, limit: ALLOWANCE });
    };
    Object.assign(raised, loaded, { default: raised, rateLimit: raised });
  }
  return raised;
};
