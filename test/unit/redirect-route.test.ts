import { describe, expect, test } from "bun:test";
import { pathOf } from "../../src/http/route-label";
import { directCode } from "../../src/modules/links/redirect-route";

const at = (path: string, method = "GET") => directCode(method, pathOf(`http://127.0.0.1:8080${path}`));

describe("directCode: which requests skip the router", () => {
  test("a single segment of code or alias characters, with or without a query", () => {
    expect(at("/8sHulm2g6M")).toBe("8sHulm2g6M");
    expect(at("/launch-2027")).toBe("launch-2027");
    expect(at("/my_link?utm=x")).toBe("my_link");
    expect(at(`/${"a".repeat(64)}`)).toBe("a".repeat(64));
  });

  test("route names (any case), other methods, other shapes and encodings go to the router", () => {
    for (const path of ["/metrics", "/Docs", "/dashboard", "/openapi.json", "/ws", "/api", "/create", "/", "/a/b", "/abc/", "/%41bc", "/a.b", `/${"a".repeat(65)}`]) expect(at(path)).toBeNull();
    expect(at("/8sHulm2g6M", "HEAD")).toBeNull();
    expect(at("/8sHulm2g6M", "POST")).toBeNull();
  });
});
