"""Jobs of the onboarding academy: the scripted practice shopper answers after commit."""
from workers.jobs import job


@job
def practice_shopper_turn(ticket_id):
    from helpdesk.actions.academy import practice_shopper_turn as turn

    turn(ticket_id)
