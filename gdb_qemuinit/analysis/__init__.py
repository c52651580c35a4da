"""A Trace in, sections out: edge verdicts (verify), the vhost-user
negotiation, hang points, findings, the first error, the timeline, answers
to questions (where), the diff of two traces, the hang diagnosis; annotate
runs them in order.
"""
