"""CI must run exactly the README's test command, so the two can never drift apart."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_ci_runs_the_readme_test_command():
    readme_commands = [
        line.strip() for line in (ROOT / "README.md").read_text().splitlines()[:12]
        if line.startswith("    ")
    ]
    assert len(readme_commands) == 2, "README must start with the run command and the test command"
    ci_lines = (ROOT / ".ci" / "run").read_text().splitlines()
    assert readme_commands[1] in ci_lines
