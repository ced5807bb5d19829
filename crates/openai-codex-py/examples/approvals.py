"""Approval modes: the automatic reviewer (default) and deny-all, per thread and per turn."""
from openai_codex_rs import ApprovalMode, Codex, Sandbox

with Codex() as codex:
    thread = codex.thread_start(approval_mode=ApprovalMode.deny_all, sandbox=Sandbox.read_only)
    result = thread.run("Delete the build folder.")
    print("deny_all:", result.final_response)
    result = thread.run("Now try again.", approval_mode=ApprovalMode.auto_review, sandbox=Sandbox.workspace_write)
    print("auto_review:", result.final_response)
