/** Reading a service's error bodies: Concise Problem Details (RFC 9290) in CBOR, or JSON from older services. */
import { decode } from '../cbor.ts';

export interface ProblemDetails {
  title?: string;
  detail?: string;
}

export function readProblem(body: Uint8Array, contentType: string | null): ProblemDetails {
  try {
    if (contentType?.includes('cbor')) {
      const m = decode(body, { allowedTags: [], maxBytes: 65536 });
      if (m instanceof Map) {
        const title = m.get(-1);
        const detail = m.get(-2);
        return { ...(typeof title === 'string' ? { title } : {}), ...(typeof detail === 'string' ? { detail } : {}) };
      }
    }
    if (contentType?.includes('json')) {
      const j = JSON.parse(new TextDecoder().decode(body)) as { title?: unknown; detail?: unknown; error?: { code?: unknown; message?: unknown } };
      const title = typeof j.title === 'string' ? j.title : typeof j.error?.code === 'string' ? j.error.code : undefined;
      const detail = typeof j.detail === 'string' ? j.detail : typeof j.error?.message === 'string' ? j.error.message : undefined;
      return { ...(title ? { title } : {}), ...(detail ? { detail } : {}) };
    }
  } catch {
    // an unreadable error body still leaves the status line to report
  }
  return {};
}
