import { describe, expect, it } from "vitest";
import { decodePath, encodePath } from "../src/path.js";
import { findPacked, packManifest, unpackManifest } from "../src/packed.js";
import type { AssetManifest, HtmlHandling } from "../src/index.js";
import {
  evaluatePreconditions,
  matchesEntityTag,
  parseEntityTags,
  parseHttpDate,
} from "../src/conditional.js";
import { ifRangeAllows, parseRange } from "../src/range.js";
import { negotiateEncoding } from "../src/encoding.js";
import { resolveHtml } from "../src/html.js";

describe("decodePath", () => {
  it.each([
    ["/", "/"],
    ["/index.html", "/index.html"],
    ["/a%20b.txt", "/a b.txt"],
    ["/caf%C3%A9.txt", "/café.txt"],
    ["/about/", "/about/"],
    ["//evil.example", "/evil.example"],
    ["/a//b///c", "/a/b/c"],
    ["/.well-known/security.txt", "/.well-known/security.txt"],
    ["/%E2%9C%93", "/✓"],
  ])("decodes %s to %s", (input, expected) => {
    expect(decodePath(input)).toBe(expected);
  });

  it.each([
    ["malformed escape", "/%E0%A4%A"],
    ["lone percent", "/%"],
    ["NUL byte", "/a%00b"],
    ["CR LF", "/a%0d%0aSet-Cookie:x"],
    ["encoded dot dot", "/a/%2e%2e/b"],
    ["encoded dot", "/a/%2E/b"],
    ["encoded slash", "/a%2Fb"],
    ["encoded backslash", "/a%5C..%5Cb"],
    ["relative path", "a/b"],
  ])("refuses %s (%s)", (_, input) => {
    expect(decodePath(input)).toBeNull();
  });
});

describe("packManifest", () => {
  const manifest: AssetManifest = {
    v: 1,
    prefix: "",
    chunk: 1000,
    types: ["text/html", "text/css"],
    times: [1704164645],
    files: {
      "/style.css": ["ffffffffffffffff", 2048, 1, 0, 1, [["br", "0000000000000001", 500]]],
      "/a:b|c%d.html": ["abc", 36, 0, 0, 0],
      "/index.html": ["0123456789abcdef", 35, 0, 0, 0],
    },
  };

  it("writes records sorted by escaped path, base 36 numbers and base64url hashes", () => {
    expect(packManifest(manifest)).toEqual({
      v: 1,
      prefix: "",
      chunk: 1000,
      types: ["text/html", "text/css"],
      times: [1704164645],
      count: 3,
      packed: [
        "/a%3Ab%7Cc%25d.html:=abc,10,0,0,0",
        "/index.html:ASNFZ4mrze8,z,0,0,0",
        "/style.css:__________8,1kw,1,0,1,bAAAAAAAAAAE,dw",
      ].join("|"),
    });
  });

  it.each([
    ["/index.html", manifest.files["/index.html"]],
    ["/a:b|c%d.html", manifest.files["/a:b|c%d.html"]],
    ["/style.css", manifest.files["/style.css"]],
    ["/a%3Ab%7Cc%25d.html", undefined],
    ["/", undefined],
    ["/zzz", undefined],
    ["", undefined],
  ])("finds %s", (path, entry) => {
    expect(findPacked(packManifest(manifest).packed, path)).toEqual(entry);
  });

  it("finds nothing in an empty manifest and unpacks it", () => {
    const empty = packManifest({ ...manifest, files: {} });
    expect(empty.packed).toBe("");
    expect(findPacked(empty.packed, "/")).toBeUndefined();
    expect(unpackManifest(empty).files).toEqual({});
  });
});

describe("encodePath", () => {
  it.each([
    ["/", "/"],
    ["/a b.txt", "/a%20b.txt"],
    ["/café/", "/caf%C3%A9/"],
    ["/evil.example", "/evil.example"],
    ["//evil.example", "/evil.example"],
    ["/a\r\nb", "/a%0D%0Ab"],
  ])("encodes %j as %s", (input, expected) => {
    expect(encodePath(input)).toBe(expected);
  });
});

describe("matchesEntityTag", () => {
  it.each([
    ['"abc"', '"abc"', "strong", true],
    ['"abc"', '"abc"', "weak", true],
    ['W/"abc"', '"abc"', "strong", false],
    ['W/"abc"', '"abc"', "weak", true],
    ['"x", W/"abc"', '"abc"', "weak", true],
    ['"x" , "y"', '"abc"', "weak", false],
    ["*", '"abc"', "strong", true],
    ["abc", '"abc"', "weak", false],
    ['"abc', '"abc"', "weak", false],
    ["", '"abc"', "weak", false],
  ] as const)("%s against %s with %s comparison is %s", (field, etag, comparison, expected) => {
    expect(matchesEntityTag(field, etag, comparison)).toBe(expected);
  });
});

describe("parseHttpDate", () => {
  it.each([
    ["Tue, 02 Jan 2024 03:04:05 GMT", 1704164645],
    ["Tuesday, 02-Jan-24 03:04:05 GMT", 1704164645],
    ["Tue Jan  2 03:04:05 2024", 1704164645],
    ["not a date", null],
    ["2024-01-02T03:04:05Z", null],
    ["", null],
  ])("parses %j as %s", (input, expected) => {
    expect(parseHttpDate(input)).toBe(expected);
  });
});

describe("parseEntityTags", () => {
  it.each([
    ['"a", "b"', ["a", "b"]],
    ['"a",, "b"', ["a", "b"]],
    [', , "a"', ["a"]],
    ['"a"\t,\tW/"b" , ', ["a", "W/b"]],
    ['"a", b, "c"', ["a"]],
    ["", []],
  ])("reads %j as %j, skipping empty members and whitespace (RFC 9110 §5.6.1)", (field, tags) => {
    expect(parseEntityTags(field).map((t) => (t.weak ? `W/${t.tag}` : t.tag))).toEqual(tags);
  });
});

describe("evaluatePreconditions", () => {
  const validators = { etag: '"v1"', lastModified: 1704164645 };
  const before = "Mon, 01 Jan 2024 00:00:00 GMT";
  const same = "Tue, 02 Jan 2024 03:04:05 GMT";
  const after = "Wed, 03 Jan 2024 00:00:00 GMT";
  it.each([
    ["no conditions", {}, "proceed"],
    ["If-None-Match with the ETag", { "If-None-Match": '"v1"' }, "not-modified"],
    ["If-None-Match with the weak form of the ETag", { "If-None-Match": 'W/"v1"' }, "not-modified"],
    ["If-None-Match listing the ETag", { "If-None-Match": '"x", "v1"' }, "not-modified"],
    [
      "If-None-Match listing the ETag after an empty member",
      { "If-None-Match": '"x",, "v1"' },
      "not-modified",
    ],
    ["If-None-Match starting with an empty member", { "If-None-Match": ', "v1"' }, "not-modified"],
    [
      "If-None-Match with tabs and empty members",
      { "If-None-Match": '"x"\t,\t, ,"v1"' },
      "not-modified",
    ],
    ["If-None-Match with a trailing comma", { "If-None-Match": '"v1",' }, "not-modified"],
    ["If-Match listing the ETag after an empty member", { "If-Match": '"x",,"v1"' }, "proceed"],
    ["If-None-Match: *", { "If-None-Match": "*" }, "not-modified"],
    ["If-None-Match with another ETag", { "If-None-Match": '"v0"' }, "proceed"],
    ["If-Modified-Since at Last-Modified", { "If-Modified-Since": same }, "not-modified"],
    ["If-Modified-Since after Last-Modified", { "If-Modified-Since": after }, "not-modified"],
    ["If-Modified-Since before Last-Modified", { "If-Modified-Since": before }, "proceed"],
    ["If-Modified-Since that is not a date", { "If-Modified-Since": "yesterday" }, "proceed"],
    [
      "If-None-Match that fails, which overrides a matching If-Modified-Since",
      { "If-None-Match": '"v0"', "If-Modified-Since": after },
      "proceed",
    ],
    ["If-Match with the ETag", { "If-Match": '"v1"' }, "proceed"],
    ["If-Match with the weak form of the ETag", { "If-Match": 'W/"v1"' }, "failed"],
    ["If-Match with another ETag", { "If-Match": '"v0"' }, "failed"],
    ["If-Match: *", { "If-Match": "*" }, "proceed"],
    ["If-Unmodified-Since before Last-Modified", { "If-Unmodified-Since": before }, "failed"],
    ["If-Unmodified-Since at Last-Modified", { "If-Unmodified-Since": same }, "proceed"],
    [
      "If-Match that passes, which overrides a failing If-Unmodified-Since",
      { "If-Match": '"v1"', "If-Unmodified-Since": before },
      "proceed",
    ],
    [
      "If-Match failing before If-None-Match is looked at",
      { "If-Match": '"v0"', "If-None-Match": '"v1"' },
      "failed",
    ],
  ])("returns %s for %s", (_, headers, expected) => {
    expect(evaluatePreconditions(new Headers(headers), validators)).toBe(expected);
  });
});

describe("parseRange", () => {
  it.each([
    ["bytes=0-0", 10, [{ start: 0, end: 0 }]],
    ["bytes=2-5", 10, [{ start: 2, end: 5 }]],
    ["bytes=5-", 10, [{ start: 5, end: 9 }]],
    ["bytes=-3", 10, [{ start: 7, end: 9 }]],
    ["bytes=-30", 10, [{ start: 0, end: 9 }]],
    ["bytes=0-999", 10, [{ start: 0, end: 9 }]],
    ["BYTES = 1-2", 10, [{ start: 1, end: 2 }]],
    [
      "bytes=0-1,3-4",
      10,
      [
        { start: 0, end: 1 },
        { start: 3, end: 4 },
      ],
    ],
    ["bytes=0-5,2-8", 10, [{ start: 0, end: 8 }]],
    ["bytes=0-4,5-9", 10, [{ start: 0, end: 9 }]],
    ["bytes=0-9,0-9,0-9", 10, [{ start: 0, end: 9 }]],
    ["bytes=20-30,1-2", 10, [{ start: 1, end: 2 }]],
    ["bytes=10-", 10, "unsatisfiable"],
    ["bytes=-0", 10, "unsatisfiable"],
    ["bytes=0-", 0, "unsatisfiable"],
    ["bytes=5-2", 10, null],
    ["bytes=a-b", 10, null],
    ["bytes=-", 10, null],
    ["bytes=", 10, null],
    ["items=0-1", 10, null],
    ["bytes=1-2;x", 10, null],
    [`bytes=${Array.from({ length: 101 }, (_, i) => `${i}-${i}`).join(",")}`, 1000, null],
  ])("parses %s for %d bytes", (header, size, expected) => {
    expect(parseRange(header, size)).toEqual(expected);
  });
});

describe("ifRangeAllows", () => {
  const validators = { etag: '"v1"', lastModified: 1704164645 };
  it.each([
    [null, true],
    ['"v1"', true],
    ['"v0"', false],
    ['W/"v1"', false],
    ["Tue, 02 Jan 2024 03:04:05 GMT", true],
    ["Wed, 03 Jan 2024 00:00:00 GMT", false],
    ["garbage", false],
  ])("If-Range %j allows the range: %s", (value, expected) => {
    expect(ifRangeAllows(value, validators)).toBe(expected);
  });
});

describe("negotiateEncoding", () => {
  const both = ["br", "gzip"] as const;
  it.each([
    [null, both, null],
    ["", both, null],
    ["gzip, deflate, br, zstd", both, "br"],
    ["gzip", both, "gzip"],
    ["x-gzip", both, "gzip"],
    ["br;q=0.5, gzip;q=0.8", both, "gzip"],
    ["br;q=0, gzip", both, "gzip"],
    ["br;q=0, gzip;q=0", both, null],
    ["*", both, "br"],
    ["*;q=0.1, br;q=0", both, "gzip"],
    ["identity", both, null],
    ["identity;q=1, br;q=0.5", both, null],
    ["BR", both, "br"],
    ["br;q=2", both, null],
    ["br", ["gzip"], null],
    ["gzip, br", ["gzip"], "gzip"],
  ] as const)("picks %s from %j as %s", (header, available, expected) => {
    expect(negotiateEncoding(header, available)).toBe(expected);
  });
});

describe("resolveHtml", () => {
  const files = new Set([
    "/index.html",
    "/file.html",
    "/folder/index.html",
    "/both.html",
    "/both/index.html",
    "/app.js",
  ]);
  const has = (p: string): boolean => files.has(p);
  const cases: Record<HtmlHandling, [string, string | null][]> = {
    "auto-trailing-slash": [
      ["/", "serve /index.html"],
      ["/index.html", "redirect /"],
      ["/index", "redirect /"],
      ["/file", "serve /file.html"],
      ["/file.html", "redirect /file"],
      ["/file/", "redirect /file"],
      ["/folder", "redirect /folder/"],
      ["/folder/", "serve /folder/index.html"],
      ["/folder/index.html", "redirect /folder/"],
      ["/folder/index", "redirect /folder/"],
      ["/both", "serve /both.html"],
      ["/both/", "serve /both/index.html"],
      ["/app.js", "serve /app.js"],
      ["/missing", null],
    ],
    "force-trailing-slash": [
      ["/", "serve /index.html"],
      ["/file", "redirect /file/"],
      ["/file/", "serve /file.html"],
      ["/file.html", "redirect /file/"],
      ["/folder", "redirect /folder/"],
      ["/folder/", "serve /folder/index.html"],
      ["/folder/index.html", "redirect /folder/"],
      ["/app.js", "serve /app.js"],
    ],
    "drop-trailing-slash": [
      ["/", "serve /index.html"],
      ["/index.html", "redirect /"],
      ["/file", "serve /file.html"],
      ["/file/", "redirect /file"],
      ["/file.html", "redirect /file"],
      ["/folder", "serve /folder/index.html"],
      ["/folder/", "redirect /folder"],
      ["/folder/index.html", "redirect /folder"],
      ["/app.js", "serve /app.js"],
    ],
    none: [
      ["/", null],
      ["/index.html", "serve /index.html"],
      ["/file", null],
      ["/folder/index.html", "serve /folder/index.html"],
    ],
  };
  for (const [mode, table] of Object.entries(cases)) {
    describe(mode, () => {
      it.each(table)("resolves %s to %s", (path, expected) => {
        const result = resolveHtml(path, mode as HtmlHandling, has);
        const actual =
          result === null
            ? null
            : "file" in result
              ? `serve ${result.file}`
              : `redirect ${result.redirect}`;
        expect(actual).toBe(expected);
      });
    });
  }
});
