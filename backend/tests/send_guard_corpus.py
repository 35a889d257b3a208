"""Realistic text for measuring the send guard's notes detector: internal notes of CRM meetings and customer
invitations, in English and Danish, written independently of each other (as a sales team writes them), with the
phrases both kinds share on purpose: greetings, "agenda", "next steps", dates, product and company names.

Used by tests/test_send_guard_domain.py (false alarms and detection) and benchmarks/send_guard_false_alarms.py.
"""

NOTES = [
    "Discount may go to 12 %",
    "Budget approved by their CFO, but procurement wants three quotes. Do not mention the Fabrikam offer.",
    "Mette is unhappy with support response times since the migration. Escalate to Lars before the meeting.",
    "They are also talking to Northwind. Our price is 8 % higher; we can match on the licence but not on services.",
    "Renewal due in March. Risk: the new IT director prefers open source. Keep the conversation on total cost.",
    "Next steps: send the proposal on Friday, ask for a reference call with Contoso Bank.",
    "Jonas hinted that they will cut the team from 40 to 25 seats after the reorganisation.",
    "Internal target: close before year end so it counts for Q4. Max discount 15 % with Kim's approval.",
    "Their lawyer rejected our liability cap last time; legal says we can go to 2x annual fee.",
    "Agenda for us: upsell the analytics module, then the training package. Do not bring up the outage in May.",
    "Customer is price sensitive. Start at list price and concede the onboarding fee first.",
    "Good relationship with Mette, she will champion us internally. Her boss Henrik is sceptical.",
    "Contract value around 450.000 DKK per year. Payment terms 30 days, they asked for 60.",
    "Please remember to bring the demo laptop and the updated price list for 2027.",
    "Looking forward to the meeting; we need the signed order by 15 December to hit the quarter.",
    "Rabatten kan gå op til 12 %, men kun hvis de skriver under i år.",
    "Mette er utilfreds med supporten efter migreringen. Lars skal informeres før mødet.",
    "De taler også med Northwind. Vores pris er 8 % højere, vi kan matche licensen men ikke konsulenttimerne.",
    "Fornyelse i marts. Risiko: den nye IT-chef foretrækker open source. Hold fokus på de samlede omkostninger.",
    "Næste skridt: send tilbuddet fredag og bed om en reference hos Contoso Bank.",
    "Jonas antydede at de skærer ned fra 40 til 25 licenser efter omorganiseringen.",
    "Internt mål: lukke før nytår så det tæller i Q4. Maks rabat 15 % med Kims godkendelse.",
    "Deres advokat afviste vores ansvarsbegrænsning sidst; juridisk siger vi kan gå til 2x årlig betaling.",
    "Vi skal sælge analysemodulet og derefter træningspakken. Nævn ikke nedbruddet i maj.",
    "Kunden er prisfølsom. Start på listepris og giv onboarding-gebyret væk først.",
    "God relation til Mette, hun kæmper for os internt. Hendes chef Henrik er skeptisk.",
    "Kontraktværdi omkring 450.000 kr. om året. Betalingsbetingelser 30 dage, de bad om 60.",
    "Husk demo-pc'en og den opdaterede prisliste for 2027.",
    "Vi ser frem til mødet; vi skal have den underskrevne ordre senest 15. december for at nå kvartalet.",
    "Keep it short, they have another meeting right after. Ask about the timeline for the tender.",
]

INVITATIONS = [
    "Hi Mette,\n\nThank you for your time last week. As agreed, here is the invitation for our quarterly review.\n\n"
    "Agenda:\n1. Status on the current projects\n2. Support and service levels\n3. Plans for 2027\n\n"
    "Please let me know if you would like to add anything.\n\nBest regards,\nAnna",
    "Dear Jonas,\n\nI am looking forward to meeting you and your team on Tuesday. We will present the analytics "
    "module and answer your questions about the migration.\n\nKind regards\nAnna Jensen, Contoso",
    "Hello all,\n\nThis is the kick-off for the implementation project. We will go through the plan, the roles and "
    "the first milestones. The meeting room is on the 3rd floor; please check in at the reception.\n\nSee you "
    "there,\nAnna",
    "Hi Henrik,\n\nAs discussed on the phone, let us meet to go through the renewal of your licences. I will bring "
    "a short overview of your usage over the past year.\n\nBest regards\nLars",
    "Agenda:\n- Welcome and introductions\n- Your goals for the next year\n- Demo of the new reporting features\n"
    "- Next steps\n\nLooking forward to seeing you.",
    "Dear customer,\n\nYou are invited to a training session on the new version. Please bring a laptop. The session "
    "lasts two hours and includes a short break.\n\nBest regards\nContoso Training",
    "Hi Mette,\n\nFollowing up on our conversation about response times, I would like to walk you through the "
    "improvements we have made since the migration.\n\nBest, Anna",
    "Hello Jonas,\n\nThank you for the quick reply. Here is the meeting to sign the order. I have attached the "
    "final version of the contract for your review.\n\nKind regards,\nAnna",
    "Teams meeting. Join on your computer, mobile app or room device. Meeting ID: 123 456 789. Passcode: abc123",
    "Hi all, a short check-in on the project status. Please send me your questions in advance if possible. Thanks!",
    "Hej Mette,\n\nTak for sidst. Som aftalt sender jeg hermed en invitation til vores kvartalsmøde.\n\n"
    "Dagsorden:\n1. Status på de igangværende projekter\n2. Support og serviceniveau\n3. Planer for 2027\n\n"
    "Sig endelig til, hvis du vil have noget på dagsordenen.\n\nVenlig hilsen\nAnna",
    "Kære Jonas,\n\nJeg glæder mig til at mødes med dig og dit team på tirsdag. Vi præsenterer analysemodulet og "
    "svarer på jeres spørgsmål om migreringen.\n\nMed venlig hilsen\nAnna Jensen, Contoso",
    "Hej alle,\n\nDette er opstartsmødet for implementeringsprojektet. Vi gennemgår planen, rollerne og de første "
    "milepæle. Mødelokalet er på 3. sal; meld jer i receptionen.\n\nVi ses,\nAnna",
    "Hej Henrik,\n\nSom vi talte om i telefonen, så lad os mødes og gennemgå fornyelsen af jeres licenser. Jeg "
    "tager en kort oversigt over jeres forbrug det seneste år med.\n\nVenlig hilsen\nLars",
    "Dagsorden:\n- Velkomst\n- Jeres mål for det kommende år\n- Demo af de nye rapporter\n- Næste skridt\n\n"
    "Vi ser frem til at se jer.",
    "Kære kunde,\n\nDu er inviteret til et kursus i den nye version. Medbring venligst en bærbar. Kurset varer to "
    "timer inklusive en kort pause.\n\nVenlig hilsen\nContoso Kursus",
    "Hej Mette,\n\nSom opfølgning på vores snak om svartider vil jeg gerne vise dig de forbedringer, vi har lavet "
    "siden migreringen.\n\nMvh Anna",
    "Hej Jonas,\n\nTak for det hurtige svar. Her er mødet, hvor vi underskriver ordren. Den endelige kontrakt er "
    "vedhæftet til gennemsyn.\n\nVenlig hilsen\nAnna",
    "Teams-møde. Deltag fra din computer, mobilapp eller mødelokaleenhed. Møde-id: 123 456 789. Adgangskode: abc123",
    "Hej alle, en kort statusopfølgning på projektet. Send gerne jeres spørgsmål på forhånd. Tak!",
    "Hi Mette, we look forward to the meeting on Friday. Please remember to bring the list of users who need "
    "access to the new reporting module.",
    "Hi Jonas, thanks again for the good meeting. As next steps we will send you the updated proposal and the "
    "reference list by the end of the week.",
    "Hej Mette, vi glæder os til mødet fredag. Husk venligst listen over brugere, der skal have adgang til det "
    "nye rapportmodul.",
    "Hej Jonas, tak igen for et godt møde. Som næste skridt sender vi jer det opdaterede tilbud og referencelisten "
    "inden udgangen af ugen.",
    "Quarterly review Contoso / Fabrikam",
    "Kvartalsmøde Contoso / Fabrikam",
    "Meeting room Harbour, Contoso HQ, Havnegade 12, Copenhagen",
    "Mødelokale Havnen, Contoso, Havnegade 12, København",
    "Renewal of licences 2027",
    "Fornyelse af licenser 2027",
]
