'use strict';
/* eslint-disable @typescript-eslint/no-require-imports -- a synchronous load on first use is what this module is for */
/**
 * The heavy dependencies, each required on first use instead of when core is imported: `scitt verify`
 * of a key-signed statement never parses a certificate, an XML document, a Sigstore bundle or a
 * package URL, and loading those libraries was most of its start-up. CommonJS because require() is
 * the synchronous lazy load that Node, tsc's emit and esbuild's bundles all keep lazy (esbuild turns
 * each literal require into a deferred initialiser); the callers' functions stay synchronous.
 */
const cache = new Map();
const once = (name, load) => () => {
  if (!cache.has(name)) cache.set(name, load());
  return cache.get(name);
};

// @peculiar/x509 needs a Reflect metadata polyfill evaluated before it (its README, "Reflect Polyfill Required")
exports.peculiarX509 = once('x509', () => (require('reflect-metadata'), require('@peculiar/x509')));
exports.sigstoreCore = once('sigstore-core', () => require('@sigstore/core'));
// verifySCTs is not re-exported from the package index, hence the module path
exports.sigstoreSct = once('sigstore-sct', () => require('@sigstore/verify/dist/key/sct.js'));
exports.sigstoreVerify = once('sigstore-verify', () => require('@sigstore/verify'));
exports.sigstoreBundle = once('sigstore-bundle', () => require('@sigstore/bundle'));
exports.sigstoreProtobufSpecs = once('sigstore-protobuf-specs', () => require('@sigstore/protobuf-specs'));
exports.fastXmlParser = once('fast-xml-parser', () => require('fast-xml-parser'));
exports.packageUrl = once('packageurl-js', () => require('packageurl-js'));
// an ES module: require(esm), which Node >= 22.12 does synchronously (engines asks 22.13)
exports.octokitRest = once('octokit-rest', () => require('@octokit/rest'));
// Also the CommonJS libraries that were import()ed: a bundle split into chunks gives import() of a
// CommonJS module only its default export, where Node gives its named exports too
exports.ajv = once('ajv', () => require('ajv'));
exports.ajvFormats = once('ajv-formats', () => require('ajv-formats'));
exports.sigstoreSign = once('sigstore-sign', () => require('@sigstore/sign'));
exports.sigstoreTuf = once('sigstore-tuf', () => require('@sigstore/tuf'));
exports.xmllintWasm = once('xmllint-wasm', () => require('xmllint-wasm'));
