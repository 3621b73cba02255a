"""Local emulators of Slack (`emulators.slack`) and of the Handinger API (`emulators.handinger`).

They serve the tests, the benchmark and the sandbox (`make run` without credentials), each as its
own process (`python -m emulators.slack`, `python -m emulators.handinger`). They are written from
the public API documentation and never import the app (`bot`), so that the app's client and the
emulators check each other. A development package: the Docker image does not ship it.
"""
