# The learners' nbgrader settings in the single-user image (autograder/hub/Dockerfile): where the
# Assignment List finds the course. On one server `python -m autograder hub` writes the same two
# lines into STATE/learner-jupyter/nbgrader_config.py.
c = get_config()  # noqa: F821
c.CourseDirectory.course_id = "ann-from-scratch"
c.Exchange.root = "/srv/nbgrader/exchange"
