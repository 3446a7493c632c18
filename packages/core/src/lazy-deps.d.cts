/** Types of lazy-deps.cjs: each function loads its library on the first call and returns the same module after. */
export declare function peculiarX509(): typeof import('@peculiar/x509');
export declare function sigstoreCore(): typeof import('@sigstore/core');
export declare function sigstoreSct(): typeof import('@sigstore/verify/dist/key/sct.js');
export declare function sigstoreVerify(): typeof import('@sigstore/verify');
export declare function sigstoreBundle(): typeof import('@sigstore/bundle');
export declare function sigstoreProtobufSpecs(): typeof import('@sigstore/protobuf-specs');
export declare function fastXmlParser(): typeof import('fast-xml-parser');
export declare function packageUrl(): typeof import('packageurl-js');
export declare function octokitRest(): typeof import('@octokit/rest');
export declare function ajv(): typeof import('ajv');
export declare function ajvFormats(): typeof import('ajv-formats');
export declare function sigstoreSign(): typeof import('@sigstore/sign');
export declare function sigstoreTuf(): typeof import('@sigstore/tuf');
export declare function xmllintWasm(): typeof import('xmllint-wasm');
