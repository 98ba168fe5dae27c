"""Collect the test results of one compat suite.

A suite leaves its results in one directory as
  * JUnit XML files (*.xml: pytest --junitxml, Maven Surefire reports), and/or
  * tab-separated files (*.tsv), one test a line: name, status (pass, fail,
    skip), message. kcat's shell tests write these directly; Go's
    `go test -json` output is converted with `results.py gojson`.

    python3 results.py summarize <dir>
        prints one line per test ("PASS name", "FAIL name: message", "FLAKY
        name: message" for a test that failed once and passed on its rerun) and
        last a line "COUNTS <passed> <failed> <skipped>" for run.sh.
    python3 results.py gojson <go-test.json> <out.tsv>
        converts `go test -json` events into the tab-separated form.

Standard library only.
"""

import glob
import json
import os
import sys
import xml.etree.ElementTree as ET

MESSAGE_MAX_CHARS = 300


def _short(text):
    text = " ".join((text or "").split())
    return text if len(text) <= MESSAGE_MAX_CHARS else text[:MESSAGE_MAX_CHARS] + "..."


def junit_results(path):
    """(name, status, message) for every test case of one JUnit XML file."""
    try:
        root = ET.parse(path).getroot()
    except (ET.ParseError, OSError) as e:
        return [(os.path.basename(path), "fail", "unreadable JUnit report: %s" % e)]
    out = []
    for case in root.iter("testcase"):
        classname = case.get("classname") or ""
        name = case.get("name") or "?"
        full = "%s.%s" % (classname.rsplit(".", 1)[-1], name) if classname else name
        status, message = "pass", ""
        for child in case:
            if child.tag in ("flakyFailure", "flakyError") and status == "pass":
                # Surefire's rerun passed: counted as passed, shown as flaky.
                status = "flaky"
                lines = (child.text or "").strip().splitlines()
                message = child.get("message") or (lines[-1] if lines else child.tag)
            if child.tag in ("failure", "error"):
                status = "fail"
                lines = (child.text or "").strip().splitlines()
                message = child.get("message") or (lines[-1] if lines else child.tag)
                break
            if child.tag == "skipped":
                status, message = "skip", child.get("message") or ""
        out.append((full, status, _short(message)))
    return out


def tsv_results(path):
    out = []
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            line = line.rstrip("\n")
            if not line.strip():
                continue
            parts = line.split("\t", 2) + ["", ""]
            status = parts[1].strip().lower()
            if status not in ("pass", "fail", "skip"):
                status, parts[2] = "fail", "bad result line: %r" % line
            out.append((parts[0], status, _short(parts[2])))
    return out


def summarize(directory):
    results = []
    for path in sorted(glob.glob(os.path.join(directory, "**", "*.xml"), recursive=True)):
        results.extend(junit_results(path))
    for path in sorted(glob.glob(os.path.join(directory, "**", "*.tsv"), recursive=True)):
        results.extend(tsv_results(path))
    counts = {"pass": 0, "fail": 0, "skip": 0}
    for name, status, message in results:
        counts["pass" if status == "flaky" else status] += 1
        label = {"pass": "PASS", "fail": "FAIL", "skip": "SKIP", "flaky": "FLAKY"}[status]
        print("    %s %s%s" % (label, name, (": " + message) if message and status != "pass" else ""))
    print("COUNTS %d %d %d" % (counts["pass"], counts["fail"], counts["skip"]))
    return 0


def gojson(json_path, tsv_path):
    """Top-level and sub-tests from `go test -json`; output of failures kept short."""
    outcome, output = {}, {}
    with open(json_path, encoding="utf-8", errors="replace") as f:
        for line in f:
            try:
                event = json.loads(line)
            except ValueError:
                continue
            test = event.get("Test")
            if not test:
                continue
            action = event.get("Action")
            if action == "output":
                text = event.get("Output", "").strip()
                if text and not text.startswith(("=== ", "--- ")):
                    output.setdefault(test, []).append(text)
            elif action in ("pass", "fail", "skip"):
                outcome[test] = action
    with open(tsv_path, "w", encoding="utf-8") as out:
        for test, action in outcome.items():
            message = " | ".join(output.get(test, [])[-3:]) if action != "pass" else ""
            out.write("%s\t%s\t%s\n" % (test, action, message.replace("\t", " ")))
    return 0


def main(argv):
    if len(argv) == 2 and argv[0] == "summarize":
        return summarize(argv[1])
    if len(argv) == 3 and argv[0] == "gojson":
        return gojson(argv[1], argv[2])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
