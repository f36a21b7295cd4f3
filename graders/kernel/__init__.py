"""What runs inside the student's kernel: ``run_check`` (``notebook``), the evidence export
(``evidence``), facts read from Keras objects (``keras_facts``), figure and error capture
(``capture``), the kernel's limits (``limits``), the one verdict type (``result``) and the
hints (``hints``). It decides no grade; it imports nothing from the layers above it."""
