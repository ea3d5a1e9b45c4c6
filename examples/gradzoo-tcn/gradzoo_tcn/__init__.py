"""gradzoo-tcn: a temporal convolutional network, an example of a third-party gradzoo plugin.

``gradzoo_tcn.model`` holds the model and the ``@hookimpl`` that registers it
(the entry point in pyproject.toml names that module); ``gradzoo_tcn.conv``
the causal dilated convolution it is built from.
"""

__version__ = "0.1.0"
