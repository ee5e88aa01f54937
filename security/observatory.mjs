// The MDN HTTP Observatory's tests against one address on this machine, printed as JSON.
//
// The package's own command scans a host name on the default ports only; its retriever
// takes a port, a path and headers, so this runs the same tests through it. Usage:
//   node security/observatory.mjs http://127.0.0.1:8000/en/zhanaozen/ [--behind-tls-proxy]
// With --behind-tls-proxy every request carries "X-Forwarded-Proto: https", as the
// TLS-terminating reverse proxy of a deployment sends it (the app must trust one proxy).
import { ALL_RESULTS, ALL_TESTS } from "@mdn/mdn-http-observatory/src/constants.js";
import { retrieve } from "@mdn/mdn-http-observatory/src/retriever/retriever.js";

const target = new URL(process.argv[2]);
const headers = ["Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"];
if (process.argv.includes("--behind-tls-proxy")) {
  headers.push("X-Forwarded-Proto: https");
}
if (!["127.0.0.1", "localhost", "[::1]"].includes(target.hostname)) {
  console.error("Only addresses on this machine are scanned.");
  process.exit(2);
}

const retrieved = await retrieve(target.hostname, {
  httpPort: target.port,
  // Nothing listens there: the HTTPS attempt is refused at once and the scan uses HTTP.
  httpsPort: "9",
  path: target.pathname + target.search,
  headers,
});
if (!retrieved.responses.auto) {
  console.log(JSON.stringify({ error: `no answer from ${target.href}` }));
  process.exit(1);
}

const tests = {};
ALL_TESTS.forEach((test, index) => {
  let output;
  try {
    output = test(retrieved);
  } catch (error) {
    // The HSTS tests read a preload list that is only downloaded at install time.
    const name = ALL_RESULTS[index].name;
    tests[name] = { result: "error", pass: false, description: String(error) };
    return;
  }
  const { scoreDescription, ...rest } = output;
  tests[output.constructor.name] = { ...rest, description: scoreDescription ?? "" };
});
console.log(
  JSON.stringify(
    { status: retrieved.responses.auto.status, headers: retrieved.responses.auto.headers, tests },
    null,
    2,
  ),
);
