"""The grading machinery: the sandboxed kernel (``sandbox``), the unprivileged kernel
(``unprivileged``), grading one notebook outside nbgrader (``runner``), nbgrader's pipeline
with the judge (``judging``, ``replay``), batch grading on Dask (``batch``), the one door to
the gradebook (``gradebook``) and to the course's folders (``coursedir``), the grading
records (``records``) and the configuration traitlets (``settings``)."""
