"""Messaging: what crosses the browser's native-messaging port and the network.

- :mod:`~native_host.messaging.framing`: the 4-byte length + UTF-8 JSON frames (read and written);
- :mod:`~native_host.messaging.host`: the host loop and the service that answers each message;
- :mod:`~native_host.messaging.probe`: our own TLS handshake, recording the presented chain;
- :mod:`~native_host.messaging.route`: the browser's route (address, proxy) that a probe takes;
- :mod:`~native_host.messaging.aia`: fetching a missing intermediate from its AIA caIssuers URL.
"""
