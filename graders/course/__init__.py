"""The course verbs: one keyword-argument function each (``verbs``), the ``rnn-course``
command over them (``cli``), feedback reports (``report``, ``mathml``), the class summary
(``summary``), the LMS round trip by files (``lms``) and by LTI 1.3 (``lti``), the student
bundle (``bundle``), Gradescope's autograder (``gradescope``), the data builder
(``coursedata``). Package data: ``templates/``, ``requirements.lock``, ``samples/`` (the
demo's class, never in a students' wheel)."""
