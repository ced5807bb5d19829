"""Account status, and a ChatGPT browser login started and cancelled."""
import os

from openai_codex_rs import Codex

with Codex() as codex:
    print("account:", codex.account().account)
    if os.environ.get("OPENAI_API_KEY"):
        codex.login_api_key(os.environ["OPENAI_API_KEY"])
        print("logged in with the API key")
    login = codex.login_chatgpt()
    print("open:", login.auth_url.split("?")[0])
    print("cancel:", login.cancel().status)
    print("completed:", login.wait().success)
