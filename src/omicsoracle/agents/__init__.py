"""The ask pipeline's agents on the message bus, and their orchestrator (issue 5).

Importing the package registers the built-in agents (query, search, enrichment,
summary) the way any other agent is registered: :func:`register_agent`.
"""

from omicsoracle.agents import enrichment, query, search, summary_agent
from omicsoracle.agents.base import AGENTS, Agent, AgentRunner, register_agent
from omicsoracle.agents.enrichment import EnrichmentAgent
from omicsoracle.agents.orchestrator import STAGES, Orchestrator
from omicsoracle.agents.pipeline import Pipeline, build_agents
from omicsoracle.agents.query import QueryAgent
from omicsoracle.agents.search import SearchAgent
from omicsoracle.agents.summary_agent import SummaryAgent

__all__ = [
    "AGENTS",
    "STAGES",
    "Agent",
    "AgentRunner",
    "EnrichmentAgent",
    "Orchestrator",
    "Pipeline",
    "QueryAgent",
    "SearchAgent",
    "SummaryAgent",
    "build_agents",
    "enrichment",
    "query",
    "register_agent",
    "search",
    "summary_agent",
]
