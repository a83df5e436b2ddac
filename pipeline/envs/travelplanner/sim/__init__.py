"""The offline TravelPlanner sim policy: a scripted stand-in for an LLM (not evidence about one).

It reads only the messages: the query text, the tool results in the transcript and the procedures
memory put in the prompt; never the database or the query's hidden fields.
"""
