"""topcop: the returns pipeline's domain package (see README for the layout).

pyarrow's default allocator (mimalloc) reserves a gigabyte of address space at its
first allocation; a worker run under an address-space limit (``ulimit -v``, as the
hostile-file tests run one) would fail on it with nothing read. The system allocator
reserves nothing up front. Set here, before anything imports pyarrow; an operator's
own ``ARROW_DEFAULT_MEMORY_POOL`` wins.
"""

import os

os.environ.setdefault("ARROW_DEFAULT_MEMORY_POOL", "system")
